"""First-time mistakes (issue 19): a NAME that is a size or a file name is refused with
the command meant; every tool takes --quiet. No TeX runs: the checks come first."""
from __future__ import annotations

import pytest

from convanim import api
from convanim.spec import SpecError

from helpers import files_under, run


@pytest.mark.parametrize("argv, hint", [
    (["arithmetic", "-i", "5", "7"], "-i 5x7, not -i 5 7"),
    (["numerical", "5x7"], "-i 5x7"),
    (["arithmetic", "fig.gif"], "give fig -a -y gif"),
    (["alphabet", "fig.PNG", "-i", "4"], "give fig -y png"),
    (["im2col", "fig.pdf"], "give fig -y pdf"),
    (["arithmetic", "fig.json"], "give fig -y for the format"),
])
def test_a_size_or_a_file_name_as_name_is_refused_with_a_hint(workdir, capsys, argv, hint):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == []
    assert len(err) == 1 and err[0].startswith("convanim: error: NAME ") and hint in err[0]
    assert files_under(workdir) == []


def test_names_with_digits_or_dots_still_work():
    from convanim.figure import first_time_mistakes

    for name in ("fig7", "conv-5x7", "fig.v2", "a.b_c", "7a", "v1.0"):
        first_time_mistakes(name)  # no error
    with pytest.raises(SpecError):
        api.render("arithmetic", "fig.webp", out_dir="x", gif_dir="x")


def test_stats_accepts_quiet(capsys):
    status, out, err = run(capsys, "stats", "-i", "7", "-k", "3", "--quiet")
    assert status == 0 and err == []
