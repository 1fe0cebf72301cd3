"""Benchmarks (`make bench`): our paths against the bare library and raw drivers, same run."""
