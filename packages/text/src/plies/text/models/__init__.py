"""plies.text.models: AWD-LSTM and the pieces of text models (decoder, sentence encoder, pooling head)."""

from ._awdlstm import (
    AWD_LSTM,
    EmbeddingDropout,
    RNNDropout,
    WeightDropout,
    awd_lstm_clas_split,
    awd_lstm_lm_split,
    dropout_mask,
)
from ._core import (
    LinearDecoder,
    PoolingLinearClassifier,
    SentenceEncoder,
    SequentialRNN,
    awd_lstm_clas_config,
    awd_lstm_lm_config,
    awd_lstm_scratch_clas_config,
    awd_lstm_scratch_lm_config,
    get_language_model,
    get_text_classifier,
    masked_concat_pool,
    text_arch_meta,
)

__all__ = [
    "dropout_mask",
    "RNNDropout",
    "WeightDropout",
    "EmbeddingDropout",
    "AWD_LSTM",
    "awd_lstm_lm_split",
    "awd_lstm_clas_split",
    "awd_lstm_lm_config",
    "awd_lstm_clas_config",
    "awd_lstm_scratch_lm_config",
    "awd_lstm_scratch_clas_config",
    "LinearDecoder",
    "SequentialRNN",
    "SentenceEncoder",
    "masked_concat_pool",
    "PoolingLinearClassifier",
    "get_language_model",
    "get_text_classifier",
    "text_arch_meta",
]
