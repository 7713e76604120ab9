"""Bad shapes and arguments for the convolution family: the same call is made with PyTorch and
with minigrad, and minigrad must raise an exception of PyTorch's type (or a subclass:
``mg.ShapeError`` is a RuntimeError) with PyTorch's message, which names the shapes at fault.

Rows marked ``same_message=False`` are those where PyTorch's message is an implementation
detail (a oneDNN failure, a set printed in hash order); there minigrad's message must still
name the shapes or values involved (``mentions``)."""
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")


@dataclass
class Bad:
    name: str
    call: object              # call(lib) -> anything; lib is torch or minigrad
    same_message: bool = True
    mentions: tuple = ()      # substrings minigrad's message must contain


def z(lib, *shape, dtype="float32"):
    return lib.zeros(*shape, dtype=getattr(lib, dtype))


def F(lib):
    return lib.nn.functional


X = (2, 3, 8, 8)

BAD = [
    # ----- convolution: shapes --------------------------------------------------------------
    Bad("conv2d_channels", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 1, 5, 5))),
    Bad("conv2d_channels_unbatched", lambda L: F(L).conv2d(z(L, 3, 8, 8), z(L, 6, 2, 5, 5))),
    Bad("conv2d_channels_groups", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3), groups=2)),
    Bad("conv2d_input_2d", lambda L: F(L).conv2d(z(L, 3, 8), z(L, 6, 3, 5, 5))),
    Bad("conv2d_input_5d", lambda L: F(L).conv2d(z(L, 1, 2, 3, 8, 8), z(L, 6, 3, 5, 5))),
    Bad("conv2d_kernel_too_large", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 9, 9))),
    Bad("conv2d_kernel_too_large_dilated", lambda L: F(L).conv2d(
        z(L, 2, 3, 2, 2), z(L, 6, 3, 3, 3), dilation=2, padding=1)),
    Bad("conv2d_empty_image", lambda L: F(L).conv2d(z(L, 2, 3, 0, 8), z(L, 6, 3, 3, 3))),
    Bad("conv2d_bias_size", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3), z(L, 5))),
    Bad("conv2d_bias_2d", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3), z(L, 6, 1))),
    Bad("conv2d_weight_3d", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 5))),
    Bad("conv2d_weight_1d", lambda L: F(L).conv2d(z(L, *X), z(L, 6))),
    Bad("conv2d_weight_5d", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3, 3))),
    Bad("conv2d_groups_weight", lambda L: F(L).conv2d(z(L, *X), z(L, 5, 1, 3, 3), groups=3)),
    Bad("conv2d_weight_empty", lambda L: F(L).conv2d(z(L, *X), z(L, 0, 3, 3, 3))),
    Bad("conv1d_weight_4d", lambda L: F(L).conv1d(z(L, 2, 3, 8), z(L, 6, 3, 3, 3))),
    Bad("conv1d_channels", lambda L: F(L).conv1d(z(L, 2, 3, 8), z(L, 6, 4, 3))),
    Bad("conv1d_input_1d", lambda L: F(L).conv1d(z(L, 8), z(L, 6, 3, 3))),
    Bad("conv1d_kernel_too_large", lambda L: F(L).conv1d(z(L, 2, 3, 8), z(L, 6, 3, 9))),
    # ----- convolution: parameters ------------------------------------------------------------
    Bad("conv2d_stride_0", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3), stride=0)),
    Bad("conv2d_stride_negative", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3),
                                                        stride=(2, -1))),
    Bad("conv2d_padding_negative", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3),
                                                         padding=-1)),
    Bad("conv2d_padding_before_stride", lambda L: F(L).conv2d(
        z(L, *X), z(L, 6, 3, 3, 3), stride=0, padding=-1)),
    Bad("conv2d_dilation_0", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3), dilation=0)),
    Bad("conv2d_groups_0", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3), groups=0)),
    Bad("conv2d_stride_3", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3), stride=(1, 2, 3))),
    Bad("conv2d_padding_3", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3),
                                                  padding=(1, 2, 3))),
    Bad("conv1d_stride_2", lambda L: F(L).conv1d(z(L, 2, 3, 8), z(L, 6, 3, 3), stride=(1, 2))),
    Bad("conv2d_same_strided", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3),
                                                     padding="same", stride=2)),
    Bad("conv2d_padding_string", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3),
                                                       padding="foo")),
    Bad("conv2d_stride_float", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3), stride=1.5),
        same_message=False, mentions=("stride",)),
    Bad("conv2d_groups_float", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3), groups=1.0),
        same_message=False, mentions=("groups",)),
    # ----- convolution: dtypes ----------------------------------------------------------------
    Bad("conv2d_weight_double", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3, dtype="float64"))),
    Bad("conv2d_input_double", lambda L: F(L).conv2d(z(L, *X, dtype="float64"),
                                                     z(L, 6, 3, 3, 3))),
    Bad("conv2d_bias_double", lambda L: F(L).conv2d(z(L, *X), z(L, 6, 3, 3, 3),
                                                    z(L, 6, dtype="float64"))),
    Bad("conv2d_bool", lambda L: F(L).conv2d(z(L, *X, dtype="bool"),
                                             z(L, 6, 3, 3, 3, dtype="bool"))),
    Bad("conv_transpose2d_int32", lambda L: F(L).conv_transpose2d(
        z(L, *X, dtype="int32"), z(L, 3, 2, 3, 3, dtype="int32"))),
    # ----- transposed convolution -------------------------------------------------------------
    Bad("conv_transpose2d_channels", lambda L: F(L).conv_transpose2d(z(L, *X),
                                                                    z(L, 4, 2, 3, 3))),
    Bad("conv_transpose2d_bias", lambda L: F(L).conv_transpose2d(z(L, *X), z(L, 3, 2, 3, 3),
                                                                z(L, 3))),
    Bad("conv_transpose2d_groups", lambda L: F(L).conv_transpose2d(z(L, *X), z(L, 3, 2, 3, 3),
                                                                  groups=2)),
    Bad("conv_transpose2d_output_padding", lambda L: F(L).conv_transpose2d(
        z(L, *X), z(L, 3, 2, 3, 3), stride=2, output_padding=2)),
    Bad("conv_transpose1d_output_padding", lambda L: F(L).conv_transpose1d(
        z(L, 2, 3, 8), z(L, 3, 2, 3), output_padding=1)),
    Bad("conv_transpose2d_output_padding_negative", lambda L: F(L).conv_transpose2d(
        z(L, *X), z(L, 3, 2, 3, 3), output_padding=-1)),
    Bad("conv_transpose2d_stride_0", lambda L: F(L).conv_transpose2d(z(L, *X),
                                                                    z(L, 3, 2, 3, 3), stride=0)),
    Bad("conv_transpose2d_padding_negative", lambda L: F(L).conv_transpose2d(
        z(L, *X), z(L, 3, 2, 3, 3), padding=-1)),
    Bad("conv_transpose2d_input_2d", lambda L: F(L).conv_transpose2d(z(L, 3, 8),
                                                                    z(L, 3, 2, 3, 3))),
    Bad("conv_transpose2d_padding_string", lambda L: F(L).conv_transpose2d(
        z(L, *X), z(L, 3, 2, 3, 3), padding="same")),
    Bad("conv_transpose2d_negative_output", lambda L: F(L).conv_transpose2d(
        z(L, *X), z(L, 3, 2, 3, 3), padding=6), same_message=False,
        mentions=("[2, 3, 8, 8]", "[3, 2, 3, 3]")),
    Bad("conv_transpose2d_dilation_0", lambda L: F(L).conv_transpose2d(
        z(L, *X), z(L, 3, 2, 3, 3), dilation=0), same_message=False, mentions=("dilation",)),
    # ----- modules ---------------------------------------------------------------------------
    Bad("Conv2d_groups_in", lambda L: L.nn.Conv2d(3, 6, 3, groups=2)),
    Bad("Conv2d_groups_out", lambda L: L.nn.Conv2d(4, 6, 3, groups=4)),
    Bad("Conv2d_groups_0", lambda L: L.nn.Conv2d(3, 6, 3, groups=0)),
    Bad("Conv2d_same_strided", lambda L: L.nn.Conv2d(3, 6, 3, padding="same", stride=2)),
    Bad("Conv2d_bad_padding_string", lambda L: L.nn.Conv2d(3, 6, 3, padding="bad"),
        same_message=False, mentions=("'bad'",)),
    Bad("Conv2d_bad_padding_mode", lambda L: L.nn.Conv2d(3, 6, 3, padding_mode="bad"),
        same_message=False, mentions=("padding_mode='bad'",)),
    Bad("Conv2d_negative_kernel", lambda L: L.nn.Conv2d(3, 6, -1)),
    Bad("Conv2d_input_channels", lambda L: L.nn.Conv2d(3, 6, 3)(z(L, 2, 4, 8, 8))),
    Bad("Conv2d_reflect_too_small", lambda L: L.nn.Conv2d(3, 6, 3, padding=2,
                                                         padding_mode="reflect")(
        z(L, 2, 3, 2, 2))),
    Bad("ConvTranspose2d_padding_mode", lambda L: L.nn.ConvTranspose2d(3, 6, 3,
                                                                      padding_mode="reflect")),
    Bad("ConvTranspose2d_output_size_range", lambda L: L.nn.ConvTranspose2d(3, 2, 3, stride=2)(
        z(L, *X), output_size=(20, 20)), same_message=False,  # torch.Size vs minigrad.Size
        mentions=(("requested an output size of (20, 20), but valid sizes range from [17, 17] "
                  "to [18, 18] (for an input of minigrad.Size([8, 8]))"),)),
    Bad("ConvTranspose2d_output_size_length", lambda L: L.nn.ConvTranspose2d(3, 2, 3)(
        z(L, *X), output_size=(20, 20, 20))),
    # ----- pooling ---------------------------------------------------------------------------
    Bad("max_pool2d_kernel_0", lambda L: F(L).max_pool2d(z(L, *X), 0)),
    Bad("max_pool2d_kernel_0_stride_1", lambda L: F(L).max_pool2d(z(L, *X), 0, 1)),
    Bad("max_pool2d_stride_0", lambda L: F(L).max_pool2d(z(L, *X), 2, stride=0)),
    Bad("max_pool2d_pad_too_large", lambda L: F(L).max_pool2d(z(L, *X), 2, padding=2)),
    Bad("max_pool2d_pad_negative", lambda L: F(L).max_pool2d(z(L, *X), 3, padding=-1)),
    Bad("max_pool2d_dilation_0", lambda L: F(L).max_pool2d(z(L, *X), 2, dilation=0)),
    Bad("max_pool2d_output_too_small", lambda L: F(L).max_pool2d(z(L, 2, 3, 1, 1), 2)),
    Bad("max_pool2d_input_2d", lambda L: F(L).max_pool2d(z(L, 3, 8), 2)),
    Bad("max_pool2d_empty_channels", lambda L: F(L).max_pool2d(z(L, 2, 0, 4, 4), 2)),
    Bad("max_pool2d_kernel_3", lambda L: F(L).max_pool2d(z(L, *X), (2, 2, 2))),
    Bad("max_pool2d_bool", lambda L: F(L).max_pool2d(z(L, *X, dtype="bool"), 2)),
    Bad("max_pool1d_input_4d", lambda L: F(L).max_pool1d(z(L, *X), 2)),
    Bad("max_pool1d_int", lambda L: F(L).max_pool1d(z(L, 2, 3, 8, dtype="int64"), 2)),
    Bad("avg_pool2d_pad_too_large", lambda L: F(L).avg_pool2d(z(L, *X), 2, padding=2)),
    Bad("avg_pool2d_output_too_small", lambda L: F(L).avg_pool2d(z(L, 2, 3, 1, 1), 2)),
    Bad("avg_pool2d_divisor_0", lambda L: F(L).avg_pool2d(z(L, *X), 2, divisor_override=0)),
    Bad("avg_pool2d_kernel_3", lambda L: F(L).avg_pool2d(z(L, *X), (2, 2, 2))),
    Bad("avg_pool2d_int32", lambda L: F(L).avg_pool2d(z(L, *X, dtype="int32"), 2)),
    Bad("avg_pool1d_input_4d", lambda L: F(L).avg_pool1d(z(L, *X), 2)),
    Bad("adaptive_avg_pool2d_size", lambda L: F(L).adaptive_avg_pool2d(z(L, *X), (3,))),
    Bad("adaptive_avg_pool2d_input_2d", lambda L: F(L).adaptive_avg_pool2d(z(L, 3, 8), 3)),
    Bad("adaptive_avg_pool2d_empty", lambda L: F(L).adaptive_avg_pool2d(z(L, 2, 3, 0, 4), 3)),
    Bad("adaptive_avg_pool1d_input_4d", lambda L: F(L).adaptive_avg_pool1d(z(L, *X), 2)),
    Bad("adaptive_max_pool2d_long", lambda L: F(L).adaptive_max_pool2d(
        z(L, *X, dtype="int64"), 2)),
    Bad("adaptive_avg_pool2d_long", lambda L: F(L).adaptive_avg_pool2d(
        z(L, *X, dtype="int64"), 2)),
    Bad("max_unpool2d_index", lambda L: F(L).max_unpool2d(
        z(L, 2, 3, 4, 4), z(L, 2, 3, 4, 4, dtype="int64") + 100, 2)),
    Bad("max_unpool2d_indices_shape", lambda L: F(L).max_unpool2d(
        z(L, 2, 3, 4, 4), z(L, 2, 3, 4, 3, dtype="int64"), 2)),
    Bad("max_unpool2d_output_size", lambda L: F(L).max_unpool2d(
        z(L, 2, 3, 4, 4), z(L, 2, 3, 4, 4, dtype="int64"), 2, output_size=(20, 20))),
    # ----- unfold / fold ---------------------------------------------------------------------
    Bad("unfold_padding_negative", lambda L: F(L).unfold(z(L, *X), 3, padding=-1)),
    Bad("unfold_kernel_too_large", lambda L: F(L).unfold(z(L, *X), 9)),
    Bad("unfold_kernel_0", lambda L: F(L).unfold(z(L, *X), 0)),
    Bad("unfold_stride_0", lambda L: F(L).unfold(z(L, *X), 3, stride=0)),
    Bad("unfold_long", lambda L: F(L).unfold(z(L, *X, dtype="int64"), 3)),
    Bad("fold_channels", lambda L: F(L).fold(z(L, 2, 26, 36), (8, 8), 3)),
    Bad("fold_blocks", lambda L: F(L).fold(z(L, 2, 27, 35), (8, 8), 3)),
    # ----- padding ---------------------------------------------------------------------------
    Bad("pad_odd", lambda L: F(L).pad(z(L, *X), (1,))),
    Bad("pad_too_long", lambda L: F(L).pad(z(L, *X), (1,) * 10)),
    Bad("pad_reflect_value", lambda L: F(L).pad(z(L, *X), (1, 1, 1, 1), mode="reflect",
                                                value=1.0)),
    Bad("pad_reflect_4d_size_2", lambda L: F(L).pad(z(L, *X), (1, 1), mode="reflect")),
    Bad("pad_reflect_1d", lambda L: F(L).pad(z(L, 8), (1, 1), mode="reflect")),
    Bad("pad_reflect_too_large", lambda L: F(L).pad(z(L, 2, 3, 4), (4, 1), mode="reflect")),
    Bad("pad_reflect_too_large_h", lambda L: F(L).pad(z(L, 2, 3, 2, 4), (1, 1, 3, 3),
                                                      mode="reflect")),
    Bad("pad_reflect_empty_channels", lambda L: F(L).pad(z(L, 2, 0, 4), (1, 1),
                                                         mode="reflect")),
    Bad("pad_replicate_output_empty", lambda L: F(L).pad(z(L, 1, 1, 6), (-6, 0),
                                                         mode="replicate")),
    Bad("pad_circular_wrap", lambda L: F(L).pad(z(L, 2, 3), (4, 4), mode="circular")),
    Bad("pad_circular_empty", lambda L: F(L).pad(z(L, 1, 1, 6), (-7, 0), mode="circular")),
    Bad("pad_mode", lambda L: F(L).pad(z(L, *X), (1, 1), mode="bad")),
    Bad("pad_constant_crop_too_far", lambda L: F(L).pad(z(L, 2, 3), (-4, 0))),
    Bad("pad_float", lambda L: F(L).pad(z(L, *X), (1.5, 1))),
    # ----- interpolation ---------------------------------------------------------------------
    Bad("interpolate_both", lambda L: F(L).interpolate(z(L, *X), size=4, scale_factor=2.0)),
    Bad("interpolate_neither", lambda L: F(L).interpolate(z(L, *X))),
    Bad("interpolate_align_nearest", lambda L: F(L).interpolate(z(L, *X), size=4,
                                                                align_corners=True)),
    Bad("interpolate_size_length", lambda L: F(L).interpolate(z(L, *X), size=(4, 4, 4))),
    Bad("interpolate_scale_length", lambda L: F(L).interpolate(z(L, *X),
                                                               scale_factor=(2.0, 2.0, 2.0))),
    Bad("interpolate_recompute_size", lambda L: F(L).interpolate(
        z(L, *X), size=4, recompute_scale_factor=True)),
    Bad("interpolate_linear_4d", lambda L: F(L).interpolate(z(L, *X), size=4, mode="linear")),
    Bad("interpolate_bilinear_3d", lambda L: F(L).interpolate(z(L, 2, 3, 8), size=4,
                                                              mode="bilinear")),
    Bad("interpolate_mode", lambda L: F(L).interpolate(z(L, *X), size=4, mode="bad"),
        same_message=False, mentions=("bad",)),
    Bad("interpolate_size_float", lambda L: F(L).interpolate(z(L, *X), size=(4.0, 4))),
    # ----- pixel shuffle ---------------------------------------------------------------------
    Bad("pixel_shuffle_channels", lambda L: F(L).pixel_shuffle(z(L, 2, 7, 3, 3), 2)),
    Bad("pixel_shuffle_2d", lambda L: F(L).pixel_shuffle(z(L, 3, 3), 2)),
    Bad("pixel_shuffle_0", lambda L: F(L).pixel_shuffle(z(L, 2, 8, 3, 3), 0)),
    Bad("pixel_unshuffle_height", lambda L: F(L).pixel_unshuffle(z(L, 2, 2, 3, 4), 2)),
    Bad("pixel_unshuffle_width", lambda L: F(L).pixel_unshuffle(z(L, 2, 2, 4, 3), 2)),
    Bad("pixel_unshuffle_0", lambda L: F(L).pixel_unshuffle(z(L, 2, 2, 4, 4), 0)),
]


def _raised(call, lib):
    """The exception call(lib) raises, or None (warnings silenced: some rows warn first)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call(lib)
        except Exception as exc:  # noqa: BLE001 - the exception is the result under test
            return exc
    return None


@pytest.mark.parametrize("bad", BAD, ids=[b.name for b in BAD])
def test_error_matches_torch(bad):
    want = _raised(bad.call, torch)
    assert want is not None, f"torch accepted {bad.name}; the row is wrong"
    got = _raised(bad.call, mg)
    assert got is not None, f"minigrad accepted {bad.name}; torch raised {want!r}"
    assert isinstance(got, type(want)), f"{type(got).__name__}: {got} (torch: {want!r})"
    if bad.same_message:
        assert str(got) == str(want)
    for part in bad.mentions:
        assert part in str(got), f"{part!r} not in {str(got)!r}"


def test_shape_errors_are_minigrads_shape_error():
    with pytest.raises(mg.ShapeError, match=r"weight of size \[6, 1, 5, 5\].*input\[2, 3, 8, 8\]"):
        mg.nn.functional.conv2d(mg.zeros(*X), mg.zeros(6, 1, 5, 5))


def test_kernels_never_see_bad_input():
    """Arguments the Python layer rejects never reach a kernel: a huge stride or dilation is an
    error or a valid (tiny) result, never a crash."""
    x = mg.tensor(np.arange(2 * 3 * 8 * 8, dtype=np.float32).reshape(2, 3, 8, 8))
    w = mg.ones(4, 3, 3, 3)
    y = mg.nn.functional.conv2d(x, w, stride=10**6, padding=1)
    assert tuple(y.shape) == (2, 4, 1, 1)
    y = mg.nn.functional.max_pool2d(x, 2, stride=10**6)
    assert tuple(y.shape) == (2, 3, 1, 1)
    with pytest.raises(RuntimeError):
        mg.nn.functional.conv2d(x, w, dilation=10**6)
