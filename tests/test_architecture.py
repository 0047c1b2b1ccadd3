"""The shape of the code. Which package may import which, and that imports never go round,
is checked by `lint-imports` (`make lint`, contracts in pyproject.toml); this checks that the
workspace holds no rule: it changes domain rows only by calling the domains' services.

Read from the source with `ast`, so a new view that assigns `event.title = …`, builds a
`Registration(…)`, adds or deletes rows itself or runs an UPDATE fails here with the line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import eventsite

WORKSPACE = Path(eventsite.__file__).parent / "organiser"

# Rows the domains own; the workspace keeps only its audit log (organiser/models.py).
DOMAIN_MODELS = {
    "Event",
    "AgendaSession",
    "Speaker",
    "SessionSpeaker",
    "Topic",
    "Registration",
    "Question",
    "Organisation",
    "Membership",
    "OrganisationInvitation",
}
SESSION_WRITES = {"add", "add_all", "delete", "merge", "bulk_save_objects"}
STATEMENT_WRITES = {"insert", "update", "delete"}
# Names the workspace gives domain objects it has loaded.
DOMAIN_OBJECT_NAMES = {
    "event",
    "source",
    "copy",
    "agenda_session",
    "session",
    "speaker",
    "topic",
    "registration",
    "reg",
    "question",
    "organisation",
    "org",
    "membership",
    "member",
    "invitation",
}
AUDIT_MODULE = WORKSPACE / "audit.py"


def _dotted(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every expression node
        return ""


def _writes(source: str, label: str, *, may_add: bool = False) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename=label)):
        where = f"{label}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in DOMAIN_MODELS:
                found.append(f"{where} builds a {name} row")
            if (
                isinstance(func, ast.Attribute)
                and name in SESSION_WRITES
                and "session" in _dotted(func.value)
                and not may_add
            ):
                found.append(f"{where} calls {_dotted(func)}()")
            if name in STATEMENT_WRITES and not isinstance(func, ast.Attribute):
                found.append(f"{where} runs an {name.upper()} statement")
            if name == "populate_obj":
                found.append(f"{where} lets a form write a row (populate_obj)")
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute):
                base = target.value
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in DOMAIN_OBJECT_NAMES:
                    found.append(f"{where} assigns {_dotted(target)}")
    return found


def test_no_workspace_module_writes_a_domain_row_itself():
    modules = sorted(WORKSPACE.rglob("*.py"))
    assert len(modules) > 5
    writes = [
        write
        for path in modules
        for write in _writes(
            path.read_text(encoding="utf-8"),
            str(path.relative_to(WORKSPACE.parent)),
            may_add=path == AUDIT_MODULE,  # the audit log is the workspace's own table
        )
    ]
    assert writes == []


def test_the_check_sees_each_kind_of_write():
    # The check above must be able to fail: each line here is one kind of write.
    source = (
        "event.title = 'x'\n"
        "registration.status += 1\n"
        "db.session.add(thing)\n"
        "db.session.delete(thing)\n"
        "Registration(event=event)\n"
        "db.session.execute(update(Event).values(title='x'))\n"
        "form.populate_obj(event)\n"
    )
    found = _writes(source, "sample.py")
    lines = sorted(int(write.split(" ", 1)[0].rsplit(":", 1)[1]) for write in found)
    assert lines == [1, 2, 3, 4, 5, 6, 7], found
