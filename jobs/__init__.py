"""Thin jobs: each reads tables, applies transforms, gates with expectations, writes tables.

Run one with `crosslake <name>`, `python -m jobs.<name>` or `spark-submit jobs/<name>.py`.
"""
