"""Demonstration data: a small, believable programme of forums and conferences, with
registrations in every state, for `flask demo load` and `flask demo clear`.

`files/*.toml` holds what is invented (organisations, people, events, agendas, attendees),
`data.py` reads it, `load.py` creates the rows (dated from the moment of loading, so the demo
always has upcoming events) and `clear.py` removes them again.
"""
