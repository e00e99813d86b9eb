"""The from-scratch models equal PyTorch's production ones on generated shapes: convolution and pooling,
RNN and LSTM cells, scaled dot-product and multi-head attention."""
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from torch import nn

from lepton_nb.models import conv2d_loops, max_pool2d_loops
from lepton_nb.sequence import MultiHeadSelfAttention, attention, lstm_scratch, rnn_scratch


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(5, 11), st.sampled_from([1, 3, 5]),
       st.integers(1, 3), st.integers(0, 2), st.integers(0, 2**31 - 1))
def test_conv2d_loops_equal_f_conv2d(n, c_in, c_out, size, k, stride, padding, seed):
    g = torch.Generator().manual_seed(seed)
    x, w, b = torch.randn(n, c_in, size, size, generator=g), torch.randn(c_out, c_in, k, k, generator=g), torch.randn(c_out, generator=g)
    torch.testing.assert_close(conv2d_loops(x, w, b, stride, padding), F.conv2d(x, w, b, stride=stride, padding=padding), atol=1e-4, rtol=1e-4)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 12), st.sampled_from([2, 3]), st.integers(0, 2**31 - 1))
def test_max_pool_loops_equal_f_max_pool2d(size, k, seed):
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(seed))
    if size < k: return
    torch.testing.assert_close(max_pool2d_loops(x, k), F.max_pool2d(x, k))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 9), st.integers(1, 6), st.integers(1, 8), st.integers(0, 2**31 - 1))
def test_rnn_and_lstm_from_equations_equal_torch(batch, steps, n_in, hidden, seed):
    torch.manual_seed(seed)
    x, h0, c0 = torch.randn(batch, steps, n_in), torch.randn(batch, hidden), torch.randn(batch, hidden)
    rnn, lstm = nn.RNN(n_in, hidden, batch_first=True), nn.LSTM(n_in, hidden, batch_first=True)
    with torch.no_grad():
        ours, _ = rnn_scratch(x, rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0, h0)
        torch.testing.assert_close(ours, rnn(x, h0[None])[0], atol=1e-5, rtol=1e-5)
        ours, (h, c) = lstm_scratch(x, lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0, h0, c0)
        theirs, (h_t, c_t) = lstm(x, (h0[None], c0[None]))
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(c, c_t[0], atol=1e-5, rtol=1e-5)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 7), st.integers(1, 7), st.sampled_from([1, 2, 4]), st.booleans(), st.integers(0, 2**31 - 1))
def test_attention_and_multi_head_equal_torch(batch, t_q, t_k, heads, padded, seed):
    torch.manual_seed(seed)
    q, k, v = torch.randn(batch, t_q, 8), torch.randn(batch, t_k, 8), torch.randn(batch, t_k, 5)
    torch.testing.assert_close(attention(q, k, v)[0], F.scaled_dot_product_attention(q, k, v), atol=1e-5, rtol=1e-5)
    mha = nn.MultiheadAttention(8, heads, batch_first=True).eval()
    x = torch.randn(batch, t_k, 8)
    pad = torch.zeros(batch, t_k, dtype=torch.bool)
    if padded and t_k > 1: pad[:, -1] = True  # the last position is padding everywhere
    with torch.no_grad():
        out_t, w_t = mha(x, x, x, key_padding_mask=pad, average_attn_weights=False)
        out_o, w_o = MultiHeadSelfAttention.from_torch(mha)(x, pad)
    torch.testing.assert_close(out_o, out_t, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w_o, w_t, atol=1e-5, rtol=1e-5)
