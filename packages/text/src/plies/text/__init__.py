"""plies.text: tokenization, numericalization, language-model data, AWD-LSTM and the ULMFiT learners."""

from . import _show  # noqa: F401  (registers the DataFrame displays of texts)
from .__about__ import __version__
from ._callbacks import ModelResetter, RNNRegularizer
from ._data import TextBlock, TextDataLoaders, get_text_files
from ._lm_learner import LMLearner
from ._loaders import LMDataLoader, SortedDL
from ._makers import language_model_learner, text_classifier_learner
from ._numericalize import Numericalize, make_vocab
from ._pad import Pad_Input, pad_input, reverse_text
from ._parallel import default_n_workers, parallel_tokenize, text_cache_dir, tokenize_texts
from ._rules import (
    BOS,
    EOS,
    FLD,
    PAD,
    TK_MAJ,
    TK_REP,
    TK_UP,
    TK_WREP,
    UNK,
    decode_spec_tokens,
    fix_html,
    lowercase,
    replace_all_caps,
    replace_maj,
    replace_rep,
    replace_space,
    replace_wrep,
    rm_useless_spaces,
    spec_add_spaces,
    text_postproc_rules,
    text_proc_rules,
    text_spec_tok,
)
from ._show import display_df, truncate_text
from ._text_learner import TextLearner, match_embeds
from ._tokenize import (
    load_tokenized_csv,
    read_tokenized_file,
    tokenize_csv,
    tokenize_df,
    tokenize_files,
    tokenize_folder,
)
from ._tokenizer import Tokenizer
from ._tokenizers import (
    BaseTokenizer,
    SentencePieceTokenizer,
    SpacyTokenizer,
    TokenizeWithRules,
    WordTokenizer,
    tokenize1,
)
from .models import (
    AWD_LSTM,
    EmbeddingDropout,
    LinearDecoder,
    PoolingLinearClassifier,
    RNNDropout,
    SentenceEncoder,
    SequentialRNN,
    WeightDropout,
    awd_lstm_clas_config,
    awd_lstm_clas_split,
    awd_lstm_lm_config,
    awd_lstm_lm_split,
    awd_lstm_scratch_clas_config,
    awd_lstm_scratch_lm_config,
    dropout_mask,
    get_language_model,
    get_text_classifier,
    masked_concat_pool,
    text_arch_meta,
)

__all__ = [
    "__version__",
    # special tokens and rules (_rules)
    "UNK",
    "PAD",
    "BOS",
    "EOS",
    "FLD",
    "TK_REP",
    "TK_WREP",
    "TK_UP",
    "TK_MAJ",
    "text_spec_tok",
    "fix_html",
    "replace_rep",
    "replace_wrep",
    "spec_add_spaces",
    "rm_useless_spaces",
    "replace_all_caps",
    "replace_maj",
    "lowercase",
    "replace_space",
    "text_proc_rules",
    "text_postproc_rules",
    "decode_spec_tokens",
    # tokenizers (_tokenizers, _tokenizer)
    "BaseTokenizer",
    "SpacyTokenizer",
    "WordTokenizer",
    "SentencePieceTokenizer",
    "TokenizeWithRules",
    "tokenize1",
    "Tokenizer",
    # tokenizing many texts, cached (_parallel, _tokenize)
    "parallel_tokenize",
    "tokenize_texts",
    "default_n_workers",
    "text_cache_dir",
    "tokenize_df",
    "tokenize_csv",
    "load_tokenized_csv",
    "tokenize_files",
    "tokenize_folder",
    "read_tokenized_file",
    # numericalization (_numericalize)
    "make_vocab",
    "Numericalize",
    # data (_pad, _loaders, _data, _show)
    "pad_input",
    "Pad_Input",
    "reverse_text",
    "LMDataLoader",
    "SortedDL",
    "TextBlock",
    "TextDataLoaders",
    "get_text_files",
    "display_df",
    "truncate_text",
    # models (models/)
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
    # learners and callbacks (_text_learner, _lm_learner, _makers, _callbacks)
    "ModelResetter",
    "RNNRegularizer",
    "TextLearner",
    "LMLearner",
    "language_model_learner",
    "text_classifier_learner",
    "match_embeds",
]
