"""Side-by-side performance benchmarks of l5sim against Brian2 and NEST (issue 6).

Run everything with ``python -m benchmarks`` (see ``benchmarks/README.md`` and
``docs/performance.md``).  This package is deliberately light: importing it
imports nothing but the standard library, because each implementation runs in
its own subprocess and interpreter (the peers live in ``.venv-brian2`` and
``.venv-nest``, created by ``benchmarks/setup_peers.sh``).
"""
