"""plies.text: (planned) NLP.

It will hold: tokenization, numericalization, language-model data, AWD-LSTM, `text_classifier_learner`.
"""

from .__about__ import __version__

__all__: list[str] = ["__version__"]
