"""The PyTorch names tinygrad_rnn implements, in one place.

Each list below names the PyTorch API this package provides under the same name, namespace by
namespace. The tests check that every listed name exists here and can be called (or, for
attributes, read); when PyTorch is installed, that every name is also a PyTorch name in the
corresponding namespace, so the lists cannot drift into names PyTorch does not have. Names that are
ours alone (``data.batchify``, ``bptt_chunks``, ``nn.utils.detach_hidden``, ``tg.viz``, ...) are not
listed here. Add a name here when you add it to the package.
"""
import importlib

import pytest

import tinygrad_rnn as tg


def _names(text):
    return text.split()


TENSOR_METHODS = _names("""
    abs acos add add_ addmm all allclose amax amin any arccos arcsin arctan arctan2 argmax argmin
    argsort asin atan atan2 backward baddbmm bernoulli bitwise_and bitwise_not bitwise_or bitwise_xor
    bmm bool broadcast_to ceil chunk clamp clamp_ clip clip_ clone contiguous copy_ cos cosh
    count_nonzero cpu cuda cumprod cumsum detach detach_ diag diagonal dim div div_ dot double
    element_size eq equal erf exp expand expand_as expm1 fill_ fix flatten flip float floor
    floor_divide fmod frac gather ge gt half hypot index_add index_add_ index_select int
    is_floating_point isclose isfinite isinf isnan item kthvalue le lerp log log10 log1p log2
    log_softmax logical_and logical_not logical_or logical_xor logsumexp long lt masked_fill
    masked_fill_ masked_select matmul max maximum mean median min minimum mm moveaxis movedim mul mul_
    multinomial mv nan_to_num narrow ne neg new_empty new_full new_ones new_tensor new_zeros nonzero
    norm numel numpy outer permute pow prod reciprocal register_hook
    register_post_accumulate_grad_hook relu remainder repeat
    repeat_interleave requires_grad_ reshape reshape_as retain_grad roll round rsqrt scatter scatter_
    scatter_add scatter_add_ sigmoid sign sin sinh size softmax sort split sqrt square squeeze std sub
    sub_ sum sum_to_size swapaxes swapdims t take_along_dim tan tanh tile to tolist topk transpose tril
    triu trunc type type_as unbind unflatten unsqueeze var view view_as where zero_
    squeeze_ swapaxes_ swapdims_ t_ transpose_ unsqueeze_ new uniform_ normal_
    __add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ __floordiv__
    __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ __matmul__ __neg__ __abs__ __getitem__
    __setitem__ __lt__ __le__ __gt__ __ge__ __eq__ __ne__ __and__ __or__ __xor__ __invert__ __len__
    __iter__ __bool__ __float__ __int__ __index__ __format__
""")

TENSOR_ATTRIBUTES = _names("T mT data device dtype grad grad_fn is_cuda is_leaf itemsize nbytes ndim "
                           "requires_grad retains_grad shape")

FUNCTIONS = _names("""
    abs acos addmm all allclose amax amin any arange arccos arcsin arctan arctan2 argmax argmin argsort
    as_tensor asin atan atan2 baddbmm bernoulli bmm broadcast_to cat ceil chunk clamp clip concat
    concatenate cos cosh count_nonzero cumprod cumsum device diag diagonal dot einsum empty empty_like
    enable_grad equal erf exp expm1 eye fix flatten flip floor floor_divide fmod frac from_numpy full
    full_like gather get_default_device get_rng_state hstack hypot index_add index_select
    initial_seed is_floating_point is_grad_enabled is_tensor isclose isfinite isinf isnan kthvalue
    lerp linspace load log log10 log1p log2 log_softmax logsumexp manual_seed masked_fill
    masked_select matmul max maximum mean median meshgrid min minimum mm moveaxis movedim multinomial
    mv nan_to_num narrow no_grad nonzero norm normal numel ones ones_like outer permute prod rand
    rand_like randint randint_like randn randn_like randperm reciprocal relu remainder
    repeat_interleave reshape roll round rsqrt save scatter scatter_add set_default_device
    set_grad_enabled set_rng_state sigmoid sign sin sinh softmax sort split sqrt square squeeze stack
    std sum swapaxes swapdims take_along_dim tan tanh tensor tile topk transpose tril triu trunc
    unbind unflatten unsqueeze var vstack where zeros zeros_like
    Tensor Generator
    get_default_dtype set_default_dtype get_num_threads set_num_threads inference_mode
    is_inference_mode_enabled BoolTensor ByteTensor CharTensor DoubleTensor FloatTensor HalfTensor
    IntTensor LongTensor ShortTensor
""")

DTYPES = _names("float16 half float32 float float64 double int8 uint8 int16 int32 int int64 long bool")

NAMESPACES = {
    "nn": _names("""
        AdaptiveAvgPool2d AdaptiveMaxPool2d AvgPool1d AvgPool2d BCELoss BCEWithLogitsLoss BatchNorm1d
        BatchNorm2d CELU Conv1d Conv2d ConvTranspose1d ConvTranspose2d CosineSimilarity
        CrossEntropyLoss Dropout Dropout2d ELU Embedding Flatten GELU GLU GRU GRUCell GroupNorm
        Hardsigmoid Hardswish Hardtanh HuberLoss Identity KLDivLoss L1Loss LSTM LSTMCell LayerNorm
        LeakyReLU Linear LogSigmoid LogSoftmax MSELoss MaxPool1d MaxPool2d MaxUnpool2d Mish Module
        ModuleDict ModuleList MultiheadAttention NLLLoss PairwiseDistance Parameter ParameterDict
        ParameterList RNN RNNCell RNNCellBase ReLU ReLU6 SELU Sequential SiLU Sigmoid SmoothL1Loss
        Softmax Softmin Softplus Softsign Tanh Tanhshrink Threshold Transformer TransformerDecoder
        TransformerDecoderLayer TransformerEncoder TransformerEncoderLayer Unflatten
    """),
    "nn.functional": _names("""
        adaptive_avg_pool2d adaptive_max_pool2d avg_pool1d avg_pool2d batch_norm binary_cross_entropy
        binary_cross_entropy_with_logits celu conv1d conv2d conv_transpose1d conv_transpose2d
        cosine_similarity cross_entropy dropout dropout2d elu embedding fold gelu glu group_norm
        hardsigmoid hardswish hardtanh huber_loss kl_div l1_loss layer_norm leaky_relu linear
        log_softmax logsigmoid max_pool1d max_pool2d max_unpool2d mish mse_loss
        multi_head_attention_forward nll_loss normalize one_hot pad pairwise_distance relu relu6
        scaled_dot_product_attention selu sigmoid silu smooth_l1_loss softmax softmin softplus
        softsign tanh tanhshrink threshold unfold
    """),
    "nn.init": _names("""
        calculate_gain constant_ eye_ kaiming_normal_ kaiming_uniform_ normal_ ones_ orthogonal_
        uniform_ xavier_normal_ xavier_uniform_ zeros_
    """),
    "nn.utils": _names("clip_grad_norm_ clip_grad_value_ parameters_to_vector vector_to_parameters"),
    "nn.utils.rnn": _names("""
        PackedSequence invert_permutation pack_padded_sequence pack_sequence pad_packed_sequence
        pad_sequence unpack_sequence unpad_sequence
    """),
    "optim": _names("Adadelta Adagrad Adam AdamW Adamax LBFGS NAdam Optimizer RAdam RMSprop SGD"),
    "optim.lr_scheduler": _names("""
        ChainedScheduler ConstantLR CosineAnnealingLR CosineAnnealingWarmRestarts CyclicLR
        ExponentialLR LRScheduler LambdaLR LinearLR MultiStepLR MultiplicativeLR OneCycleLR
        PolynomialLR ReduceLROnPlateau SequentialLR StepLR
    """),
    "data": _names("ConcatDataset DataLoader Dataset Subset TensorDataset default_collate "
                   "get_worker_info random_split"),
    "data.distributed": _names("DistributedSampler"),
    "distributed": _names("""
        ReduceOp all_gather all_gather_object all_reduce barrier broadcast broadcast_object_list
        destroy_process_group get_backend get_rank get_world_size init_process_group is_available
        is_initialized is_mpi_available is_nccl_available
    """),
    "nn.parallel": _names("DistributedDataParallel"),
    "linalg": _names("matrix_norm norm vector_norm"),
    "cuda": _names("device_count is_available synchronize"),
    "accelerator": _names("current_accelerator current_device_index device_count is_available "
                          "synchronize"),
    "utils.data": _names("DataLoader Dataset TensorDataset"),
    "utils.hooks": _names("RemovableHandle"),
    "autograd": _names("Function Variable detect_anomaly enable_grad grad inference_mode no_grad "
                       "set_detect_anomaly set_grad_enabled"),
}

# where PyTorch keeps the same names
TORCH_NAMESPACES = {"nn": "torch.nn", "nn.functional": "torch.nn.functional", "nn.init": "torch.nn.init",
                    "nn.utils": "torch.nn.utils", "nn.utils.rnn": "torch.nn.utils.rnn",
                    "optim": "torch.optim", "optim.lr_scheduler": "torch.optim.lr_scheduler",
                    "data": "torch.utils.data", "linalg": "torch.linalg", "cuda": "torch.cuda",
                    "autograd": "torch.autograd", "data.distributed": "torch.utils.data.distributed",
                    "distributed": "torch.distributed", "nn.parallel": "torch.nn.parallel",
                    "accelerator": "torch.accelerator", "utils.data": "torch.utils.data",
                    "utils.hooks": "torch.utils.hooks"}

MODULE_METHODS = _names("""
    add_module apply buffers children cpu cuda double eval extra_repr float forward get_buffer
    get_parameter get_submodule half load_state_dict modules named_buffers named_children
    named_modules named_parameters parameters register_buffer register_module register_parameter
    requires_grad_ state_dict to train zero_grad __call__ register_forward_hook
    register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook
""")

OPTIMIZER_METHODS = _names("add_param_group load_state_dict state_dict step zero_grad")


def _ours(namespace):
    return importlib.import_module(f"tinygrad_rnn.{namespace}")


# ----------------------------------------------------------------------------- present and callable

@pytest.mark.parametrize("name", TENSOR_METHODS)
def test_tensor_method_is_callable(name):
    assert callable(getattr(tg.ones(2, 2), name)), name


def test_tensor_attributes_can_be_read():
    x = tg.ones(2, 2, requires_grad=True)
    for name in TENSOR_ATTRIBUTES:
        getattr(x, name)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_top_level_function_is_callable(name):
    assert callable(getattr(tg, name)), name


def test_dtypes_are_exported():
    for name in DTYPES:
        assert getattr(tg, name).kind in "biuf", name


@pytest.mark.parametrize("namespace", list(NAMESPACES))
def test_namespace_names_are_callable(namespace):
    mod = _ours(namespace)
    missing = [n for n in NAMESPACES[namespace] if not callable(getattr(mod, n, None))]
    assert not missing, f"tinygrad_rnn.{namespace} lacks {missing}"


def test_module_and_optimizer_methods_are_callable():
    m = tg.nn.Linear(2, 2)
    for name in MODULE_METHODS:
        assert callable(getattr(m, name)), name
    opt = tg.optim.SGD(m.parameters(), lr=0.1)
    for name in OPTIMIZER_METHODS:
        assert callable(getattr(opt, name)), name


def test_lists_have_no_duplicates():
    lists = [TENSOR_METHODS, TENSOR_ATTRIBUTES, FUNCTIONS, DTYPES, MODULE_METHODS, OPTIMIZER_METHODS,
             *NAMESPACES.values()]
    for names in lists:
        assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]


# ----------------------------------------------------------------------------- they are PyTorch's names

def test_every_listed_name_is_a_pytorch_name():
    torch = pytest.importorskip("torch")
    probe = torch.ones(2, 2, requires_grad=True)
    wrong = [f"Tensor.{n}" for n in TENSOR_METHODS + TENSOR_ATTRIBUTES if not hasattr(probe, n)]
    wrong += [f"torch.{n}" for n in FUNCTIONS + DTYPES if not hasattr(torch, n)]
    for ns, names in NAMESPACES.items():
        theirs = importlib.import_module(TORCH_NAMESPACES[ns])
        wrong += [f"{TORCH_NAMESPACES[ns]}.{n}" for n in names if not hasattr(theirs, n)]
    wrong += [f"Module.{n}" for n in MODULE_METHODS if not hasattr(torch.nn.Module, n)]
    wrong += [f"Optimizer.{n}" for n in OPTIMIZER_METHODS if not hasattr(torch.optim.Optimizer, n)]
    assert not wrong, f"listed as PyTorch names but PyTorch has none of: {wrong}"
