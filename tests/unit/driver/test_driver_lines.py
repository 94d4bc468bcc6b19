"""LineReader: whole lines from a pipe read in chunks (the parent's side of the driver's progress and hook pipes)."""

from __future__ import annotations

import os

from lueur_net.driver.lines import LineReader


def test_a_line_cut_between_reads_is_handed_over_once_whole() -> None:
    read_fd, write_fd = os.pipe()
    try:
        reader = LineReader(read_fd, size=12)
        os.write(write_fd, b'{"a": 1}\n{"b": 2}\n')
        assert reader.read() == [b'{"a": 1}']  # the read stopped inside the second line
        assert reader.read() == [b'{"b": 2}']
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_lines_arrive_in_order_whatever_the_chunk_size() -> None:
    for size in (1, 3, 7, 4096):
        read_fd, write_fd = os.pipe()
        os.write(write_fd, b"one\ntwo\n\nthree-is-longer\nfour")
        os.close(write_fd)
        reader = LineReader(read_fd, size=size)
        lines: list[bytes] = []
        while (read := reader.read()) is not None:
            lines += read
        os.close(read_fd)
        # the end of the stream ends the reading; "four" never got its newline, so it is not a line
        assert lines == [b"one", b"two", b"", b"three-is-longer"], size
