"""A redis-py connection that packs a command's arguments in one pass.

redis-py's asyncio ``Connection.pack_command`` re-joins its growing buffer once per argument (and
encodes each through ``Encoder.encode``). A tick or push commit is one ``EVALSHA`` with thousands of
arguments (about 14 per agent that changed), so packing was a visible part of a commit's CPU. This
builds each argument's RESP bulk string once and joins them at the end: the same bytes on the wire.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio.connection import Connection


def pack_resp(args: tuple[Any, ...], encode: Any, encoding: str, errors: str) -> list[bytes]:
    """``args`` as one RESP array of bulk strings; ``encode`` (redis-py's) handles all but str/bytes."""
    if isinstance(args[0], str):  # "CONFIG GET": literal words of the command name go separately
        args = tuple(args[0].encode().split()) + args[1:]
    elif b" " in args[0]:
        args = tuple(args[0].split()) + args[1:]
    pieces = [b"*%d\r\n" % len(args)]
    append = pieces.append
    for arg in args:
        kind = type(arg)
        value = arg.encode(encoding, errors) if kind is str else arg if kind is bytes else encode(arg)
        append(b"$%d\r\n%b\r\n" % (len(value), value))
    return [b"".join(pieces)]


class FastPackConnection(Connection):
    """A plain TCP connection whose commands are packed by :func:`pack_resp`."""

    def pack_command(self, *args: Any) -> list[bytes]:
        encoder = self.encoder
        return pack_resp(args, encoder.encode, encoder.encoding, encoder.encoding_errors)
