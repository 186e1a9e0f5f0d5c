"""A sequence tagger: embedding, a bidirectional LSTM, a linear layer per token."""

from __future__ import annotations

import torch
from torch import nn


class LSTMTagger(nn.Module):
    def __init__(self, vocab: int = 100, embed: int = 16, hidden: int = 24, tags: int = 7) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True, bidirectional=True)
        self.tagger = nn.Linear(2 * hidden, tags)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        states, _ = self.lstm(self.embedding(tokens))
        return self.tagger(states).log_softmax(-1)


def lstm_tagger() -> LSTMTagger:
    return LSTMTagger()
