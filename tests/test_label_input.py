"""Broken and hostile label files: a MOS typo, names equal after normalisation, FIFOs and devices, an
unterminated CSV quote. Each fails with the file and the line (or is read as the one file it names)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from mgiqa.data.labels import parse_label_file
from mgiqa.data.registry import load_registry
from mgiqa.errors import LabelFileError

FIXTURES = Path(__file__).parent / "fixtures" / "labels"


@pytest.fixture(scope="module")
def registry() -> dict:
    return load_registry()


def parse(registry, dataset: str, path: Path):
    return parse_label_file(dataset, path, registry[dataset])


def error_of(registry, dataset: str, path: Path) -> LabelFileError:
    with pytest.raises(LabelFileError) as info:
        parse(registry, dataset, path)
    return info.value


def test_a_mos_typo_on_an_observed_range_layout_fails_with_its_line(registry, tmp_path):
    # KonIQ's official CSV: an observed-range (z-score-like) layout whose registry declares 0..100
    text = (FIXTURES / "koniq_official.csv").read_text().replace(",68.73,", ",6873,")
    path = tmp_path / "koniq10k_distributions_sets.csv"
    path.write_text(text)
    error = error_of(registry, "koniq10k", path)
    assert error.line == 3
    assert str(error) == (
        f"{path}:3: MOS 6873.0 is outside the published range (registry mos.min / mos.max) [0.0, 100.0] "
        "of layout koniq_official"
    )


def test_an_elo_score_outside_pipals_published_range_fails_with_its_line(registry, tmp_path):
    path = tmp_path / "pipal.csv"
    text = (FIXTURES / "pyiqa_pipal.csv").read_text()
    assert parse(registry, "pipal", FIXTURES / "pyiqa_pipal.csv")["mos"].min() == pytest.approx(1.0)
    path.write_text(text.replace("A0001_00_01.bmp,1450.0", "A0001_00_01.bmp,-1450.0"))
    error = error_of(registry, "pipal", path)
    assert error.line == 3 and "MOS -1450.0 is outside the published range" in str(error)


@pytest.mark.parametrize(
    "second, message",
    [
        ("./a.jpg 3.0", "image './a.jpg' is listed twice: line 1 has 'a.jpg', the same file"),
        ("sub//x.jpg 3.0", "image 'sub//x.jpg' is listed twice: line 1 has 'sub/x.jpg', the same file"),
        (".\\a.jpg 3.0", "image '.\\\\a.jpg' is listed twice: line 1 has 'a.jpg', the same file"),
        ("sub/./x.jpg 3.0", "image 'sub/./x.jpg' is listed twice: line 1 has 'sub/x.jpg', the same file"),
    ],
)
def test_names_equal_after_normalisation_are_one_file_listed_twice(registry, tmp_path, second, message):
    first = "sub/x.jpg 2.0" if "sub" in second else "a.jpg 2.0"
    path = tmp_path / "bid.txt"
    path.write_text(f"{first}\n{second}\nc.jpg 4.0\n")
    error = error_of(registry, "bid", path)
    assert error.line == 2 and str(error) == f"{path}:2: {message}"


def test_names_are_written_in_one_spelling(registry, tmp_path):
    path = tmp_path / "bid.txt"
    path.write_text("./a.jpg 2.0\nsub//x.jpg 3.0\nsub/./y.jpg 4.0\n")
    table = parse(registry, "bid", path)
    assert [name.split("/", 1)[1] for name in table["image"]] == ["a.jpg", "sub/x.jpg", "sub/y.jpg"]
    path.write_text("./ 2.0\n")
    assert "names no file" in str(error_of(registry, "bid", path))


def test_a_fifo_as_label_file_fails_without_hanging(registry, tmp_path):
    fifo = tmp_path / "labels.txt"
    os.mkfifo(fifo)
    errors = []
    worker = threading.Thread(target=lambda: errors.append(error_of(registry, "bid", fifo)), daemon=True)
    worker.start()
    worker.join(5)
    assert errors, "reading a FIFO label file hung"
    assert str(errors[0]) == f"{fifo}: label file is a FIFO (named pipe), not a regular file"


def test_dev_zero_as_label_file_fails_at_once(registry):
    error = error_of(registry, "bid", Path("/dev/zero"))
    assert str(error) == "/dev/zero: label file is a character device, not a regular file"


def test_a_label_file_over_the_size_cap_is_refused(registry, tmp_path, monkeypatch):
    from mgiqa.data import label_reader

    monkeypatch.setattr(label_reader, "MAX_LABEL_BYTES", 1000)
    path = tmp_path / "big.txt"
    path.write_text("a.jpg 1.0\n" * 200)
    assert "label file is larger than the 1,000 bytes allowed" in str(error_of(registry, "bid", path))


@pytest.mark.parametrize("ending", ["\n", ""])
def test_an_unterminated_quote_is_reported_on_its_own_line(registry, tmp_path, ending):
    path = tmp_path / "clive.csv"
    path.write_text('img_name,mos,std\nt1.bmp,50,1\n"t2.bmp,60,1\nt3.bmp,70,1\nt4.bmp,80,1' + ending)
    error = error_of(registry, "clive", path)
    assert error.line == 3
    assert "malformed CSV: unexpected end of data (a quote opened on this line never closes)" in str(error)


def test_rows_after_a_quoted_multi_line_field_keep_their_own_line(registry, tmp_path):
    path = tmp_path / "clive.csv"
    path.write_text('img_name,mos,std\n"t1\n.bmp",50,1\n\nt2.bmp,abc,1\n')
    error = error_of(registry, "clive", path)
    assert error.line == 5 and "MOS 'abc' is not a number" in str(error)
