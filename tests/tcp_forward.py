"""A TCP forwarder for tests/test_many_hosts.py: `python tests/tcp_forward.py LISTEN=TARGET ...`,
each a `host:port` (a LISTEN port 0: any free port). It listens on every LISTEN address and
copies bytes both ways to its TARGET, one upstream connection per accepted connection, until
either side closes. Once every listener is bound it prints `ready` and the ports bound, in the
order given; runs until killed.

The test's PostgreSQL and Redis listen on loopback only (and are not ours to reconfigure): the
processes in the network namespaces reach them through this, over their veth links."""
from __future__ import annotations

import asyncio
import sys


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


def _handler(target: tuple[str, int]):
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, up_writer), _pipe(up_reader, client_writer))

    return handle


async def main(pairs: list[str]) -> None:
    servers = []
    for pair in pairs:
        listen, _, target = pair.partition("=")
        host, port = _address(listen)
        servers.append(await asyncio.start_server(_handler(_address(target)), host, port, reuse_address=True))
    print("ready", *(srv.sockets[0].getsockname()[1] for srv in servers), flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
