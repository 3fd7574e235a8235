"""StreamingBody: botocore's interface, usable wherever users pass a file-like object."""

from __future__ import annotations

import codecs
import json

import pytest


@pytest.fixture
def body_of(client):
    def make(payload: bytes):
        return client.invoke_endpoint(EndpointName="echo", Body=payload)["Body"]

    return make


def test_read_returns_bytes_and_json_load_works(body_of):
    body = body_of(b'{"answer": 42}')
    assert json.load(body) == {"answer": 42}
    assert type(body_of(b"x").read()) is bytes


def test_read_amounts_and_tell(body_of):
    body = body_of(b"0123456789")
    assert body.read(3) == b"012"
    assert body.tell() == 3
    assert body.read(0) == b""
    assert body.read() == b"3456789"
    assert body.read() == b""
    assert body.read(5) == b""
    assert body.tell() == 10


def test_readinto(body_of):
    body = body_of(b"abcdef")
    buffer = bytearray(4)
    assert body.readinto(buffer) == 4
    assert buffer == bytearray(b"abcd")
    assert body.readinto(buffer) == 2
    assert buffer[:2] == bytearray(b"ef")
    assert body.readinto(buffer) == 0


def test_readlines_splits_on_newline_only(body_of):
    assert body_of(b"a\nb\r\nc").readlines() == [b"a\n", b"b\r\n", b"c"]
    assert body_of(b"").readlines() == []


def test_iter_lines_as_botocore(body_of):
    payload = b"first\nsecond\r\nthird\rfourth"
    assert list(body_of(payload).iter_lines()) == [b"first", b"second", b"third", b"fourth"]
    assert list(body_of(payload).iter_lines(keepends=True)) == [
        b"first\n",
        b"second\r\n",
        b"third\r",
        b"fourth",
    ]


def test_iteration_and_iter_chunks(body_of):
    payload = bytes(range(256)) * 10
    chunks = list(body_of(payload))
    assert [len(c) for c in chunks] == [1024, 1024, 512]
    assert b"".join(chunks) == payload
    assert [len(c) for c in body_of(payload).iter_chunks(1000)] == [1000, 1000, 560]
    with pytest.raises(ValueError):
        body_of(payload).iter_chunks(0)


def test_codecs_reader(body_of):
    text = "h\u00e9llo w\u00f6rld\n" * 100
    reader = codecs.getreader("utf-8")(body_of(text.encode()))
    assert reader.read() == text


def test_context_manager_and_close(body_of):
    with body_of(b"data") as body:
        assert body.readable()
        assert not body.closed
    assert body.closed
    assert not body.readable()


def test_repr_shows_size_not_content(body_of):
    assert repr(body_of(b"secret")) == "<StreamingBody: 6 bytes, position 0>"
