"""askdoc never reaches the network at run time: a guard refuses any non-loopback socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from .conftest import ROOT

GUARD = textwrap.dedent(
    """
    import json, os, socket, sys
    attempts = []
    _connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if self.family == socket.AF_UNIX or host in ("127.0.0.1", "::1", "localhost"):
            return _connect(self, address)
        attempts.append(str(address))
        raise OSError("network disabled by test: " + str(address))

    socket.socket.connect = guarded
    _getaddrinfo = socket.getaddrinfo

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host not in (None, "127.0.0.1", "::1", "localhost"):
            attempts.append("dns:" + str(host))
            raise socket.gaierror("name resolution disabled by test")
        return _getaddrinfo(host, *args, **kwargs)

    socket.getaddrinfo = guarded_getaddrinfo

    import askdoc
    found = askdoc.answer("Where was the summit held?")
    off = askdoc.answer("What is the capital of France?")
    print(json.dumps({"attempts": attempts, "found": found.found, "text": found.text, "off": off.found}))
    """
)


def test_index_and_answer_without_network(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env["ASKDOC_INDEX_DIR"] = str(tmp_path / "index")
    done = subprocess.run([sys.executable, "-c", GUARD], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["attempts"] == []
    assert result["found"] and "Baku" in result["text"]
    assert result["off"] is False
