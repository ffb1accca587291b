"""SPDY/3.1 framing (kubesim/spdy.py) and the port-forward session built on it."""

from __future__ import annotations

import asyncio
import hashlib
import struct
import zlib

import pytest

from kubesim import spdy
from kubesim.runtime.portforward import Session

# The first bytes kubectl v1.37.1 sent on a port-forward connection (captured from `kubectl port-forward
# pod/x 0:8080` against this server): SYN_STREAM 1 (the error stream), DATA 1 with FIN (kubectl half-closes
# the error stream at once), SYN_STREAM 3 (the data stream). The header blocks come from Go's
# compress/zlib with the SPDY/3 dictionary; the second depends on the compression context of the first.
KUBECTL_OPENING = bytes.fromhex(
    "800300010000003e0000000100000000000078f9e3c6a7c202253a703a2b294a4dcc851625aca9a0808614cb45e01c6061606"
    "1c0c0c0c0590489c64c50f2663400000000ffff0000000101000000800300010000001c00000003000000000000826ac61445"
    "350e543225a29b06000000ffff"
)


def roundtrip(frame: spdy.Frame) -> spdy.Frame:
    out = spdy.Framer().feed(spdy.Framer().encode(frame))
    assert len(out) == 1
    return out[0]


def test_dictionary_is_the_spdy3_one() -> None:
    assert len(spdy.DICTIONARY) == 1423
    assert spdy.DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert spdy.DICTIONARY.endswith(b"charset=iso-8859-1,utf-,*,enq=0.")
    assert hashlib.sha256(spdy.DICTIONARY).hexdigest() == (
        "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02"
    )


@pytest.mark.parametrize(
    "frame",
    [
        spdy.DataFrame(5, b"hello", spdy.FLAG_FIN),
        spdy.DataFrame(7, b""),
        spdy.SynStream(1, {"streamtype": ["data"], "port": ["80"], "requestid": ["0"]}, spdy.FLAG_FIN, 0, 3, 0),
        spdy.SynReply(3, {"a": ["1", "2"]}),
        spdy.HeadersFrame(3, {"x": [""]}, spdy.FLAG_FIN),
        spdy.RstStream(9, spdy.CANCEL),
        spdy.Settings([(0, 7, 65536), (1, 4, 100)], 0),
        spdy.Ping(11),
        spdy.GoAway(13, spdy.GOAWAY_PROTOCOL_ERROR),
        spdy.WindowUpdate(3, 1024),
    ],
    ids=lambda f: type(f).__name__,
)
def test_each_frame_type_round_trips(frame: spdy.Frame) -> None:
    assert roundtrip(frame) == frame


def test_known_encodings() -> None:
    f = spdy.Framer()
    assert f.encode(spdy.Ping(1)) == bytes.fromhex("80030006 00000004 00000001")
    assert f.encode(spdy.RstStream(3, spdy.CANCEL)) == bytes.fromhex("80030003 00000008 00000003 00000005")
    assert f.encode(spdy.GoAway(5)) == bytes.fromhex("80030007 00000008 00000005 00000000")
    assert f.encode(spdy.DataFrame(1, b"ab", spdy.FLAG_FIN)) == bytes.fromhex("00000001 01000002 6162")
    reply = f.encode(spdy.SynReply(1, {}))
    assert reply[:4] == bytes.fromhex("80030002") and reply[8:12] == bytes.fromhex("00000001")
    # the header block is zlib with the SPDY dictionary (FDICT set, its Adler-32 in the header)
    block = reply[12:]
    assert block[1] & 0x20 and block[2:6] == zlib.adler32(spdy.DICTIONARY).to_bytes(4, "big")
    assert zlib.decompressobj(zdict=spdy.DICTIONARY).decompress(block) == b"\x00\x00\x00\x00"


def test_decodes_what_kubectl_sends() -> None:
    frames = spdy.Framer().feed(KUBECTL_OPENING)
    assert frames == [
        spdy.SynStream(1, {"streamtype": ["error"], "port": ["8080"], "requestid": ["0"]}),
        spdy.DataFrame(1, b"", spdy.FLAG_FIN),
        spdy.SynStream(3, {"requestid": ["0"], "streamtype": ["data"], "port": ["8080"]}),
    ]


def test_partial_input_waits_for_the_rest() -> None:
    f = spdy.Framer()
    got: list[spdy.Frame] = []
    for i in range(len(KUBECTL_OPENING)):  # one byte at a time, as Go's binary.Write pieces arrive
        got += f.feed(KUBECTL_OPENING[i : i + 1])
    assert [type(x).__name__ for x in got] == ["SynStream", "DataFrame", "SynStream"]


def test_compression_context_spans_frames() -> None:
    writer, reader = spdy.Framer(), spdy.Framer()
    frames = [spdy.SynStream(i, {"port": ["80"], "streamtype": ["data"]}) for i in (1, 3, 5)]
    wire = b"".join(writer.encode(x) for x in frames)
    assert reader.feed(wire) == frames
    # a fresh reader cannot decode the second block alone: it refers back to the first
    second = writer.encode(spdy.SynStream(7, {"port": ["80"]}))
    with pytest.raises(spdy.SPDYError):
        spdy.Framer().feed(second)


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (bytes.fromhex("80020006 00000004 00000001"), "unsupported SPDY version 2"),
        (bytes.fromhex("80030003 00000004 00000001"), "RST_STREAM frame has length 4, want 8"),
        (bytes.fromhex("80030006 00000004 00000000"), "PING with id 0"),
        (bytes.fromhex("00000000 00000000"), "data frame on stream 0"),
        (bytes.fromhex("8003000c 00000000"), "unknown control frame type 12"),
        (bytes.fromhex("80030001 0000000e 00000001 00000000 0000 deadbeef"), "does not decompress"),
        (bytes.fromhex("80030001 00000002 0000"), "too short"),
    ],
)
def test_bad_frames_raise_a_clear_error(wire: bytes, message: str) -> None:
    with pytest.raises(spdy.SPDYError, match=message):
        spdy.Framer().feed(wire)


def test_bad_header_blocks() -> None:
    with pytest.raises(spdy.SPDYError, match="truncated"):
        spdy.decode_header_block(struct.pack(">II", 1, 10) + b"abc")
    dup = spdy.encode_header_block({"a": ["1"]})[4:]
    with pytest.raises(spdy.SPDYError, match="duplicate header 'a'"):
        spdy.decode_header_block(struct.pack(">I", 2) + dup + dup)
    with pytest.raises(spdy.SPDYError, match="after its last header"):
        spdy.decode_header_block(spdy.encode_header_block({}) + b"x")


def test_encode_refuses_bad_data_frames() -> None:
    with pytest.raises(spdy.SPDYError):
        spdy.Framer().encode(spdy.DataFrame(0, b"x"))


# ---- the session, without sockets --------------------------------------------------------------------
async def _session(dial_result: BaseException | tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> list[spdy.Frame]:
    sent: list[bytes] = []

    async def send(data: bytes) -> None:
        sent.append(data)

    async def dial(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if isinstance(dial_result, BaseException):
            raise dial_result
        return dial_result

    session = Session(send, dial, lambda port, exc: f"error forwarding port {port}: {exc}")
    session.feed(KUBECTL_OPENING)
    session.feed(spdy.Framer().encode(spdy.Ping(1)))
    session.feed(bytes.fromhex("80030006 00000004 00000003"))
    for _ in range(200):  # until the forward gave up and closed both streams
        if not session.pairs:
            break
        await asyncio.sleep(0.01)
    await session.close()
    return spdy.Framer().feed(b"".join(sent))


def test_session_reports_a_refused_dial_on_the_error_stream() -> None:
    frames = asyncio.run(_session(ConnectionRefusedError("connect: connection refused")))
    assert frames[0] == spdy.SynReply(1, {})
    assert spdy.SynReply(3, {}) in frames
    assert spdy.DataFrame(1, b"error forwarding port 8080: connect: connection refused") in frames
    assert spdy.DataFrame(1, b"", spdy.FLAG_FIN) in frames  # error stream closed: kubectl's ReadAll returns
    assert spdy.DataFrame(3, b"", spdy.FLAG_FIN) in frames  # data stream closed
    assert spdy.Ping(1) in frames and spdy.Ping(3) in frames  # pings echoed
    assert frames[-1] == spdy.GoAway(3, spdy.GOAWAY_OK)


def test_session_refuses_a_stream_without_a_port() -> None:
    async def run() -> list[spdy.Frame]:
        sent: list[bytes] = []

        async def send(data: bytes) -> None:
            sent.append(data)

        async def dial(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            raise AssertionError("must not dial")

        session = Session(send, dial, lambda port, exc: "")
        session.feed(spdy.Framer().encode(spdy.SynStream(1, {"streamtype": ["data"]})))
        await asyncio.sleep(0.02)
        await session.close()
        return spdy.Framer().feed(b"".join(sent))

    assert asyncio.run(run())[0] == spdy.RstStream(1, spdy.CANCEL)
