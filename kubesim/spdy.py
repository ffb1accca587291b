"""SPDY/3.1 framing, as `kubectl port-forward` speaks it (the kubelet's streaming protocol).

Hand-written on purpose: PyPI has no maintained SPDY/3.1 library (`spdy-py` 0.2.0 was last released in
2021 and `python-spdylay` wraps a C library abandoned in 2012), and the protocol is small. This module is
sans-I/O: `Framer.feed()` takes bytes and returns whole frames, `Framer.encode()` turns a frame into bytes.
It follows draft 3 of the SPDY spec (https://www.chromium.org/spdy/spdy-protocol/spdy-protocol-draft3-1/)
and what github.com/moby/spdystream (the Go implementation kubectl and the kubelet use) puts on the wire:

* control frame: `1 | version(15)=3 | type(16)`, `flags(8) | length(24)`, then `length` bytes;
* data frame: `0 | stream-id(31)`, `flags(8) | length(24)`, then the data;
* header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are `count(32)` then `len(32) name len(32) value` pairs,
  several values of one name joined by NUL, compressed with one zlib stream per direction and connection,
  primed with the SPDY/3 dictionary and sync-flushed after every block.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3

SYN_STREAM = 1
SYN_REPLY = 2
RST_STREAM = 3
SETTINGS = 4
PING = 6
GOAWAY = 7
HEADERS = 8
WINDOW_UPDATE = 9

FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02

# RST_STREAM status codes
PROTOCOL_ERROR = 1
INVALID_STREAM = 2
REFUSED_STREAM = 3
UNSUPPORTED_VERSION = 4
CANCEL = 5
INTERNAL_ERROR = 6
FLOW_CONTROL_ERROR = 7

# GOAWAY status codes
GOAWAY_OK = 0
GOAWAY_PROTOCOL_ERROR = 1
GOAWAY_INTERNAL_ERROR = 2

MAX_DATA_LENGTH = (1 << 24) - 1

# The zlib dictionary of SPDY/3 section 2.6.10.1 (1423 bytes).
DICTIONARY = bytes.fromhex(
    "000000076f7074696f6e73000000046865616400000004706f7374000000037075740000000664656c657465000000057472616365000000"
    "066163636570740000000e6163636570742d636861727365740000000f6163636570742d656e636f64696e670000000f6163636570742d6c"
    "616e67756167650000000d6163636570742d72616e6765730000000361676500000005616c6c6f770000000d617574686f72697a6174696f"
    "6e0000000d63616368652d636f6e74726f6c0000000a636f6e6e656374696f6e0000000c636f6e74656e742d6261736500000010636f6e74"
    "656e742d656e636f64696e6700000010636f6e74656e742d6c616e67756167650000000e636f6e74656e742d6c656e67746800000010636f"
    "6e74656e742d6c6f636174696f6e0000000b636f6e74656e742d6d64350000000d636f6e74656e742d72616e67650000000c636f6e74656e"
    "742d74797065000000046461746500000004657461670000000665787065637400000007657870697265730000000466726f6d0000000468"
    "6f73740000000869662d6d617463680000001169662d6d6f6469666965642d73696e63650000000d69662d6e6f6e652d6d61746368000000"
    "0869662d72616e67650000001369662d756e6d6f6469666965642d73696e63650000000d6c6173742d6d6f646966696564000000086c6f63"
    "6174696f6e0000000c6d61782d666f72776172647300000006707261676d610000001270726f78792d61757468656e746963617465000000"
    "1370726f78792d617574686f72697a6174696f6e0000000572616e676500000007726566657265720000000b72657472792d616674657200"
    "00000673657276657200000002746500000007747261696c6572000000117472616e736665722d656e636f64696e67000000077570677261"
    "64650000000a757365722d6167656e74000000047661727900000003766961000000077761726e696e67000000107777772d61757468656e"
    "746963617465000000066d6574686f64000000036765740000000673746174757300000006323030204f4b0000000776657273696f6e0000"
    "0008485454502f312e310000000375726c000000067075626c69630000000a7365742d636f6f6b69650000000a6b6565702d616c69766500"
    "0000066f726967696e3130303130313230313230323230353230363330303330323330333330343330353330363330373430323430353430"
    "36343037343038343039343130343131343132343133343134343135343136343137353032353034353035323033204e6f6e2d417574686f"
    "726974617469766520496e666f726d6174696f6e323034204e6f20436f6e74656e74333031204d6f766564205065726d616e656e746c7934"
    "303020426164205265717565737434303120556e617574686f72697a656434303320466f7262696464656e343034204e6f7420466f756e64"
    "35303020496e7465726e616c20536572766572204572726f72353031204e6f7420496d706c656d656e746564353033205365727669636520"
    "556e617661696c61626c654a616e20466562204d617220417072204d6179204a756e204a756c204175672053657074204f6374204e6f7620"
    "4465632030303a30303a3030204d6f6e2c205475652c205765642c205468752c204672692c205361742c2053756e2c20474d546368756e6b"
    "65642c746578742f68746d6c2c696d6167652f706e672c696d6167652f6a70672c696d6167652f6769662c6170706c69636174696f6e2f78"
    "6d6c2c6170706c69636174696f6e2f7868746d6c2b786d6c2c746578742f706c61696e2c746578742f6a6176617363726970742c7075626c"
    "6963707269766174656d61782d6167653d677a69702c6465666c6174652c73646368636861727365743d7574662d38636861727365743d69"
    "736f2d383835392d312c7574662d2c2a2c656e713d302e"
)

Headers = dict[str, list[str]]


class SPDYError(Exception):
    """A frame that breaks the protocol; the connection cannot go on after it."""


@dataclass
class DataFrame:
    stream_id: int
    data: bytes = b""
    flags: int = 0


@dataclass
class SynStream:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    flags: int = 0
    associated_to: int = 0
    priority: int = 0
    slot: int = 0


@dataclass
class SynReply:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    flags: int = 0


@dataclass
class HeadersFrame:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    flags: int = 0


@dataclass
class RstStream:
    stream_id: int
    status: int


@dataclass
class Settings:
    entries: list[tuple[int, int, int]] = field(default_factory=list)  # (flags, id, value)
    flags: int = 0


@dataclass
class Ping:
    id: int


@dataclass
class GoAway:
    last_good_stream_id: int
    status: int = GOAWAY_OK


@dataclass
class WindowUpdate:
    stream_id: int
    delta: int


Frame = DataFrame | SynStream | SynReply | HeadersFrame | RstStream | Settings | Ping | GoAway | WindowUpdate


def encode_header_block(headers: Headers) -> bytes:
    """The uncompressed name/value block (names lower-cased, as spdystream writes them)."""
    out = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        n = name.lower().encode()
        v = "\x00".join(values).encode()
        out += [struct.pack(">I", len(n)), n, struct.pack(">I", len(v)), v]
    return b"".join(out)


def decode_header_block(block: bytes) -> Headers:
    headers: Headers = {}
    try:
        (count,) = struct.unpack_from(">I", block, 0)
        pos = 4
        for _ in range(count):
            (n,) = struct.unpack_from(">I", block, pos)
            name = block[pos + 4 : pos + 4 + n]
            pos += 4 + n
            (n,) = struct.unpack_from(">I", block, pos)
            value = block[pos + 4 : pos + 4 + n]
            pos += 4 + n
            if pos > len(block):
                raise SPDYError("header block is truncated")
            key = name.decode()
            if key in headers:
                raise SPDYError(f"duplicate header {key!r} in header block")
            headers[key] = value.decode().split("\x00")
    except struct.error as exc:
        raise SPDYError("header block is truncated") from exc
    except UnicodeDecodeError as exc:
        raise SPDYError(f"header block is not valid UTF-8: {exc}") from exc
    if pos != len(block):
        raise SPDYError(f"header block has {len(block) - pos} bytes after its last header")
    return headers


class Framer:
    """One side of a SPDY/3 connection: parses what the peer sends, encodes what we send."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(level=9, zdict=DICTIONARY)

    # ---- reading -------------------------------------------------------------------------
    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return every frame they complete (a partial frame waits for more)."""
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= 8:
            length = int.from_bytes(self._buf[5:8], "big")
            if len(self._buf) < 8 + length:
                break
            head = bytes(self._buf[:8])
            body = bytes(self._buf[8 : 8 + length])
            del self._buf[: 8 + length]
            frames.append(self._parse(head, body))
        return frames

    def _parse(self, head: bytes, body: bytes) -> Frame:
        word, flags = struct.unpack(">IB", head[:5])
        if not word & 0x80000000:
            stream_id = word & 0x7FFFFFFF
            if stream_id == 0:
                raise SPDYError("data frame on stream 0")
            return DataFrame(stream_id, body, flags)
        version, kind = (word >> 16) & 0x7FFF, word & 0xFFFF
        if version != VERSION:
            raise SPDYError(f"unsupported SPDY version {version} (this server speaks SPDY/3.1)")
        try:
            if kind == SYN_STREAM:
                sid, assoc, prio, slot = struct.unpack_from(">IIBB", body)
                sid &= 0x7FFFFFFF
                if sid == 0:
                    raise SPDYError("SYN_STREAM for stream 0")
                return SynStream(sid, self._headers(body[10:]), flags, assoc & 0x7FFFFFFF, prio >> 5, slot)
            if kind in (SYN_REPLY, HEADERS):
                (sid,) = struct.unpack_from(">I", body)
                sid &= 0x7FFFFFFF
                if sid == 0:
                    raise SPDYError("header frame for stream 0")
                cls = SynReply if kind == SYN_REPLY else HeadersFrame
                return cls(sid, self._headers(body[4:]), flags)
            if kind == RST_STREAM:
                self._expect(body, 8, "RST_STREAM")
                sid, status = struct.unpack(">II", body)
                if sid & 0x7FFFFFFF == 0 or status == 0:
                    raise SPDYError("RST_STREAM with stream 0 or status 0")
                return RstStream(sid & 0x7FFFFFFF, status)
            if kind == SETTINGS:
                (count,) = struct.unpack_from(">I", body)
                self._expect(body, 4 + 8 * count, "SETTINGS")
                entries = []
                for i in range(count):
                    flag_id, value = struct.unpack_from(">II", body, 4 + 8 * i)
                    entries.append((flag_id >> 24, flag_id & 0xFFFFFF, value))
                return Settings(entries, flags)
            if kind == PING:
                self._expect(body, 4, "PING")
                (pid,) = struct.unpack(">I", body)
                if pid == 0:
                    raise SPDYError("PING with id 0")
                return Ping(pid)
            if kind == GOAWAY:
                self._expect(body, 8, "GOAWAY")
                last, status = struct.unpack(">II", body)
                return GoAway(last & 0x7FFFFFFF, status)
            if kind == WINDOW_UPDATE:
                self._expect(body, 8, "WINDOW_UPDATE")
                sid, delta = struct.unpack(">II", body)
                return WindowUpdate(sid & 0x7FFFFFFF, delta & 0x7FFFFFFF)
        except struct.error as exc:
            raise SPDYError(f"control frame of type {kind} is too short ({len(body)} bytes)") from exc
        raise SPDYError(f"unknown control frame type {kind}")

    @staticmethod
    def _expect(body: bytes, size: int, what: str) -> None:
        if len(body) != size:
            raise SPDYError(f"{what} frame has length {len(body)}, want {size}")

    def _headers(self, compressed: bytes) -> Headers:
        try:
            block = self._inflate.decompress(compressed)
        except zlib.error as exc:
            raise SPDYError(f"header block does not decompress: {exc}") from exc
        return decode_header_block(block)

    # ---- writing -------------------------------------------------------------------------
    def _compress(self, headers: Headers) -> bytes:
        return self._deflate.compress(encode_header_block(headers)) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    @staticmethod
    def _control(kind: int, flags: int, body: bytes) -> bytes:
        return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(body)) + body

    def encode(self, frame: Frame) -> bytes:
        if isinstance(frame, DataFrame):
            if not 0 < frame.stream_id < 1 << 31 or len(frame.data) > MAX_DATA_LENGTH:
                raise SPDYError("data frame needs a stream id in 1..2^31-1 and at most 2^24-1 bytes")
            return struct.pack(">II", frame.stream_id, (frame.flags << 24) | len(frame.data)) + frame.data
        if isinstance(frame, SynStream):
            fixed = struct.pack(">IIBB", frame.stream_id, frame.associated_to, frame.priority << 5, frame.slot)
            return self._control(SYN_STREAM, frame.flags, fixed + self._compress(frame.headers))
        if isinstance(frame, SynReply):
            return self._control(
                SYN_REPLY, frame.flags, struct.pack(">I", frame.stream_id) + self._compress(frame.headers)
            )
        if isinstance(frame, HeadersFrame):
            return self._control(
                HEADERS, frame.flags, struct.pack(">I", frame.stream_id) + self._compress(frame.headers)
            )
        if isinstance(frame, RstStream):
            return self._control(RST_STREAM, 0, struct.pack(">II", frame.stream_id, frame.status))
        if isinstance(frame, Settings):
            body = struct.pack(">I", len(frame.entries)) + b"".join(
                struct.pack(">II", (f << 24) | i, v) for f, i, v in frame.entries
            )
            return self._control(SETTINGS, frame.flags, body)
        if isinstance(frame, Ping):
            return self._control(PING, 0, struct.pack(">I", frame.id))
        if isinstance(frame, GoAway):
            return self._control(GOAWAY, 0, struct.pack(">II", frame.last_good_stream_id, frame.status))
        if isinstance(frame, WindowUpdate):
            return self._control(WINDOW_UPDATE, 0, struct.pack(">II", frame.stream_id, frame.delta))
        raise TypeError(f"not a SPDY frame: {frame!r}")
