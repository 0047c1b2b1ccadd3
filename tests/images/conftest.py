"""An S3-compatible server over real HTTP (moto's standalone server) for the storage tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from ..servers import free_port


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    # moto accepts any credentials; boto3 needs some to sign its requests.
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        os.environ.setdefault(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_url(s3_endpoint: str) -> str:
    """A new bucket for each test: s3://<bucket>/pictures?endpoint=..."""
    import boto3

    bucket = f"eventsite-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    return f"s3://{bucket}/pictures?endpoint={s3_endpoint}&region=us-east-1"


@pytest.fixture
def member_event(make_organisation, make_member, make_event, login):
    """A draft event of an organisation whose member is logged in."""
    organisation = make_organisation(name="Leaf Society")
    login(make_member(organisation))
    return make_event(organisation=organisation)
