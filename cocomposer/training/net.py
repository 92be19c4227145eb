"""The network: token + beat phase + bar position + style + mood + meter embeddings into a stacked GRU, one head.

Training runs the whole sequence through ``torch.nn.GRU``; export uses :class:`StepNet`, the same weights written out
as one explicit GRU step, with the recurrent state as an input and an output, so onnxruntime runs one token at a time
and the cost of a step never grows with the length of a session.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from cocomposer.music import codec


@dataclass(frozen=True)
class NetConfig:
    vocab: int = codec.VOCAB_SIZE
    n_styles: int = len(codec.STYLES)
    n_moods: int = len(codec.MOODS)
    n_phases: int = codec.TICKS_PER_BEAT
    n_bar_positions: int = codec.MAX_BAR_TICKS
    n_meters: int = len(codec.METERS)
    embed: int = 128
    hidden: int = 384
    layers: int = 2
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


class CocomposerNet(nn.Module):
    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        self.token = nn.Embedding(config.vocab, config.embed)
        self.phase = nn.Embedding(config.n_phases, config.embed)
        self.style = nn.Embedding(config.n_styles, config.embed)
        self.mood = nn.Embedding(config.n_moods, config.embed)
        self.bar_position = nn.Embedding(config.n_bar_positions, config.embed)
        self.meter = nn.Embedding(config.n_meters, config.embed)
        self.gru = nn.GRU(config.embed, config.hidden, config.layers, batch_first=True, dropout=config.dropout)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden, config.vocab)

    def embed(
        self,
        tokens: torch.Tensor,
        phases: torch.Tensor,
        bar_positions: torch.Tensor,
        style: torch.Tensor,
        mood: torch.Tensor,
        meter: torch.Tensor,
    ) -> torch.Tensor:
        cond = self.style(style) + self.mood(mood) + self.meter(meter)
        return self.token(tokens) + self.phase(phases) + self.bar_position(bar_positions) + cond.unsqueeze(1)

    def forward(
        self,
        tokens: torch.Tensor,
        phases: torch.Tensor,
        bar_positions: torch.Tensor,
        style: torch.Tensor,
        mood: torch.Tensor,
        meter: torch.Tensor,
        state: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens, phases, bar_positions: (B, T); style, mood, meter: (B,); state: (layers, B, hidden).
        Returns logits (B, T, V) and the state."""
        x = self.drop(self.embed(tokens, phases, bar_positions, style, mood, meter))
        y, state = self.gru(x, state)
        return self.head(self.drop(y)), state


class StepNet(nn.Module):
    """One explicit GRU step over the weights of a trained :class:`CocomposerNet` (for ONNX export)."""

    def __init__(self, net: CocomposerNet) -> None:
        super().__init__()
        self.net = net.eval()
        self.layers = net.config.layers

    def forward(
        self,
        token: torch.Tensor,
        phase: torch.Tensor,
        bar_position: torch.Tensor,
        style: torch.Tensor,
        mood: torch.Tensor,
        meter: torch.Tensor,
        state: torch.Tensor,
        cond_scale: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """token, phase, bar_position, style, mood, meter: (1,) int64; state: (layers, 1, hidden); cond_scale: (2,)
        float, the weights of the style and mood embeddings (1, 1 as in training; more makes the labels count for
        more). Returns logits (1, V) and the new state."""
        net = self.net
        x = (
            net.token(token)
            + net.phase(phase)
            + net.bar_position(bar_position)
            + net.meter(meter)
            + cond_scale[0] * net.style(style)
            + cond_scale[1] * net.mood(mood)
        )
        new_states = []
        for layer in range(self.layers):
            h = state[layer]
            w_ih = getattr(net.gru, f"weight_ih_l{layer}")
            w_hh = getattr(net.gru, f"weight_hh_l{layer}")
            b_ih = getattr(net.gru, f"bias_ih_l{layer}")
            b_hh = getattr(net.gru, f"bias_hh_l{layer}")
            gi = x @ w_ih.t() + b_ih
            gh = h @ w_hh.t() + b_hh
            i_r, i_z, i_n = gi.chunk(3, dim=-1)
            h_r, h_z, h_n = gh.chunk(3, dim=-1)
            r = torch.sigmoid(i_r + h_r)
            z = torch.sigmoid(i_z + h_z)
            n = torch.tanh(i_n + r * h_n)
            h = (1 - z) * n + z * h
            new_states.append(h)
            x = h
        return net.head(x), torch.stack(new_states)
