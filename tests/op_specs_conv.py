"""Op specs for conv_general_dilated and its wrappers, appended to op_table's OPS.

``specs(op, samplers)`` returns (specs built with op_table's ``_op``, the primitive
names they must exercise); it may add named samplers to ``samplers``.

Each spec runs value, jvp, vjp, four vmap axis patterns (lhs-only, rhs-only and
both mapped among them), the jaxpr comparison and the typecheck of grad and
vmap(grad), so the tensors are tiny.
"""

from __future__ import annotations

NHWC = ("NHWC", "HWIO", "NHWC")


def specs(op, samplers):
    tol = 1e-4
    out = [
        op(
            "conv_nchw_same",
            lambda L, x, w: L.conv_general_dilated(x, w, (1, 1), "SAME"),
            [(2, 2, 4, 4), (3, 2, 3, 3)],
            tol=tol,
        ),
        op(
            "conv_nhwc_stride_valid",
            lambda L, x, w: L.conv_general_dilated(
                x, w, (2, 1), "VALID", dimension_numbers=NHWC, precision="highest"
            ),
            [(2, 5, 4, 2), (2, 2, 2, 3)],
            tol=tol,
        ),
        op(
            "conv_same_lower_rhs_dilation",
            lambda L, x, w: L.conv_general_dilated(x, w, (1, 2), "SAME_LOWER", rhs_dilation=(2, 1)),
            [(2, 2, 5, 4), (2, 2, 2, 2)],
            tol=tol,
        ),
        op(
            "conv_explicit_pad_lhs_dilation",
            lambda L, x, w: L.conv_general_dilated(
                x, w, (1, 1), [(1, 0), (-1, 2)], lhs_dilation=(2, 1)
            ),
            [(2, 2, 3, 4), (2, 2, 2, 3)],
            tol=tol,
        ),
        op(
            "conv_feature_groups2",
            lambda L, x, w: L.conv_general_dilated(x, w, (1, 1), "SAME", feature_group_count=2),
            [(2, 4, 3, 3), (4, 2, 2, 2)],
            tol=tol,
        ),
        op(
            "conv_depthwise_nhwc",
            lambda L, x, w: L.conv_general_dilated(
                x, w, (1, 1), "SAME", dimension_numbers=NHWC, feature_group_count=3
            ),
            [(2, 4, 4, 3), (3, 3, 1, 3)],
            tol=tol,
        ),
        op(
            "conv_batch_groups2",
            lambda L, x, w: L.conv_general_dilated(x, w, (1, 1), "VALID", batch_group_count=2),
            [(4, 2, 4, 4), (4, 2, 3, 3)],
            tol=tol,
        ),
        op(
            "conv_1d_stride_pad",
            lambda L, x, w: L.conv_general_dilated(x, w, (2,), [(1, 2)], rhs_dilation=(2,)),
            [(2, 3, 7), (2, 3, 2)],
            tol=tol,
        ),
        op(
            "conv_3d_same",
            lambda L, x, w: L.conv_general_dilated(
                x, w, (1, 2, 1), "SAME", dimension_numbers=("NDHWC", "DHWIO", "NDHWC")
            ),
            [(1, 3, 3, 3, 2), (2, 2, 2, 2, 2)],
            tol=tol,
        ),
        op(
            "conv_mixed_specs",
            lambda L, x, w: L.conv_general_dilated(
                x, w, (1, 2), [(0, 1), (1, 1)], dimension_numbers=("CHWN", "IWHO", "HNCW")
            ),
            [(2, 4, 3, 2), (2, 2, 3, 3)],
            tol=tol,
        ),
        op(
            "conv_transpose_nhwc",
            lambda L, x, w: L.conv_transpose(x, w, (2, 2), "SAME"),
            [(2, 3, 3, 2), (3, 3, 2, 2)],
            tol=tol,
        ),
        op(
            "conv_transpose_explicit_kernel",
            lambda L, x, w: L.conv_transpose(
                x, w, (2,), [(1, 0)], dimension_numbers=("NCH", "OIH", "NCH")
            ),
            [(2, 2, 4), (3, 2, 3)],
            tol=tol,
        ),
        op(
            "conv_wrappers",
            lambda L, x, w: L.add(
                L.conv(x, w, (1, 1), "VALID"),
                L.conv_with_general_padding(x, w, (1, 1), [(0, 0), (1, -1)], None, None),
            ),
            [(2, 2, 4, 3), (2, 2, 2, 2)],
            tol=tol,
        ),
        op(
            "conv_patches",
            lambda L, x: L.conv_general_dilated_patches(
                x, (2, 2), (1, 1), "VALID", dimension_numbers=NHWC
            ),
            [(2, 3, 3, 2)],
            tol=tol,
        ),
    ]
    return out, frozenset({"conv_general_dilated"})
