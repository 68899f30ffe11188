"""Parsing per-axis sizes and refusing what PyTorch refuses."""
import pytest

from convanim.spec import ConvSpec, SpecError, format_pair, parse_pair, parse_size


@pytest.mark.parametrize("text,expect", [("5", (5, 5)), ("5x7", (5, 7)), ("5X7", (5, 7)),
                                         (" 3 x 2 ", (3, 2)), ("0", (0, 0))])
def test_parse_pair(text, expect):
    assert parse_pair(text) == expect


@pytest.mark.parametrize("text", ["abc", "5x", "x5", "5x7x9x2", "", "1.5", "5,7"])
def test_parse_pair_refuses(text):
    with pytest.raises(SpecError, match="expected N, HxW or DxHxW"):
        parse_pair(text)


def test_a_figure_size_of_three_axes_is_a_volumes():
    assert parse_pair(" 5x7X9 ") == (5, 7, 9)


@pytest.mark.parametrize("text,expect", [("5", (5,)), ("5x7", (5, 7)), ("4 x 5X6", (4, 5, 6))])
def test_parse_size_keeps_the_axes_given(text, expect):
    assert parse_size(text) == expect


@pytest.mark.parametrize("text", ["5x", "4x5x", "1x2x3x4", "", "4x5x٥"])
def test_parse_size_refuses(text):
    with pytest.raises(SpecError, match="expected N, HxW or DxHxW"):
        parse_size(text)


def test_format_pair():
    assert format_pair((5, 5)) == "5" and format_pair((5, 7)) == "5x7"
    assert format_pair((3, 3, 3)) == "3" and format_pair((4, 5, 5)) == "4x5x5"
    assert format_pair((0, 1, 1, 1, 2, 0)) == "0,1,1,1,2,0"
    assert format_pair((1, 1, 2, 2, 3, 3)) == "1x2x3"


def spec(**kw):
    base = dict(input_size=(5, 5), kernel_size=(3, 3), stride=(1, 1), padding=(0, 0),
                dilation=(1, 1))
    base.update(kw)
    return ConvSpec(**base)


@pytest.mark.parametrize("kw,message", [
    (dict(kernel_size=(0, 0)), "kernel size must be >= 1"),
    (dict(stride=(1, 0)), "stride must be >= 1"),
    (dict(padding=(-1, -1)), "padding must be >= 0"),
    (dict(dilation=(0, 0)), "dilation must be >= 1"),
    (dict(input_size=(0, 5)), "input size must be >= 1"),
    (dict(input_size=(2, 2), kernel_size=(5, 5)), "more than the padded input"),
    (dict(input_size=(7, 7), dilation=(4, 4)), "spans 9 cells"),
    (dict(output_padding_given=(1, 1)), "transposed conv only"),
    (dict(transposed=True, stride=(2, 2), output_padding_given=(2, 2)),
     "smaller than stride or dilation"),
    (dict(input_size=(9, 9), transposed=True, stride=(2, 2), dilation=(3, 3),
          output_padding_given=(3, 0)),
     "smaller than stride or dilation"),
])
def test_validation_refuses_with_the_reason(kw, message):
    with pytest.raises(SpecError, match=message):
        spec(**kw).validate()


def test_output_size_must_agree_when_given():
    spec(stride=(2, 2)).validate(expected_output=(2, 2))
    with pytest.raises(SpecError, match=r"does not match the computed 2"):
        spec(stride=(2, 2)).validate(expected_output=(3, 3))


def test_transposed_output_is_the_input_size_by_default():
    s = spec(input_size=(6, 7), stride=(2, 2), padding=(1, 1), transposed=True).validate()
    assert s.forward_output == (3, 4)
    assert s.output_padding == (1, 0)
    assert s.output_size == (6, 7)
    assert s.lowered().out == (6, 7)


def test_explicit_output_padding_changes_the_transposed_output():
    s = spec(input_size=(6, 6), stride=(2, 2), padding=(1, 1), transposed=True,
             output_padding_given=(0, 0)).validate()
    assert s.output_size == (5, 5)


def test_dilation_is_kept_in_transposed_mode():
    s = spec(input_size=(7, 7), dilation=(2, 2), stride=(2, 2), transposed=True).validate()
    assert s.lowered().rows.dilation == 2 and s.output_size == (7, 7)
