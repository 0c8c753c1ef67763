OK_FORMAT = True

test = {   'name': 'q1_preprocess',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     arrays = {name: np.asarray(checks.get(ns, name)) for name in ('x_train', 'y_train', 'x_val', 'y_val', 'x_test', 'y_test')}\n"
                                               "...     out = {f'{name}_shape': list(array.shape) for name, array in arrays.items()}\n"
                                               "...     out.update({f'{name}_sample': array[::97] for name, array in arrays.items() if name.startswith('x')})\n"
                                               "...     out['dtype'] = str(arrays['x_train'].dtype)\n"
                                               '...     return out\n'
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'dtype\'] == \'float32\', f"scale the images to float32, not {data[\'dtype\']}"\n'
                                               "...     for name in ('x_train', 'x_val', 'x_test'):\n"
                                               "...         shape = tuple(data[f'{name}_shape'])\n"
                                               "...         assert len(shape) == 4, f'{name} should be NHWC images (N, height, width, channels), has shape {shape}'\n"
                                               "...         sample = data[f'{name}_sample']\n"
                                               "...         assert sample.min() >= 0.0 and sample.max() <= 1.0, f'scale {name} to [0, 1]'\n"
                                               "...         label = 'y' + name[1:]\n"
                                               "...         assert data[f'{label}_shape'] == [shape[0]], f'{label} should hold one label per image of {name}'\n"
                                               "...     assert data['x_test_shape'][0] == 10000, 'keep the whole test set (10,000 images) in x_test'\n"
                                               "...     assert data['x_val_shape'][0] > 0, 'split off a validation set'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import contextlib\n'
                                               '>>> import io\n'
                                               '>>> import tempfile\n'
                                               '>>> from pathlib import Path\n'
                                               '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.data import image_set, parse_cifar10, write_cifar10_archive\n'
                                               '>>> def raw_sets():\n'
                                               '...     rng = np.random.default_rng(414447)\n'
                                               '...     def labels(n):\n'
                                               '...         return rng.permutation(np.resize(np.arange(10), n))\n'
                                               '...     cifar = ((rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8), labels(40)), (rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8), '
                                               'labels(12)))\n'
                                               '...     mnist = ((rng.integers(0, 256, (40, 28, 28), dtype=np.uint8), labels(40)), (rng.integers(0, 256, (9, 28, 28), dtype=np.uint8), labels(9)))\n'
                                               "...     return {'cifar10': cifar, 'mnist': mnist}\n"
                                               '>>> def described(name, train, test):\n'
                                               '...     return f"images = image_set({name!r}, {len(train[0])} random {(\'32x32x3\' if name == \'cifar10\' else \'28x28\')} training images with 4 of '
                                               'each of the 10 labels, {len(test[0])} test images), val_fraction=0.25, seed=7"\n'
                                               '>>> def extract(ns):\n'
                                               "...     arrays = {name: np.asarray(checks.get(ns, name)) for name in ('x_train', 'y_train', 'x_val', 'y_val', 'x_test', 'y_test')}\n"
                                               "...     out = {f'{name}_shape': list(array.shape) for name, array in arrays.items()}\n"
                                               "...     out.update({f'{name}_sample': array[::97] for name, array in arrays.items() if name.startswith('x')})\n"
                                               "...     out['dtype'] = str(arrays['x_train'].dtype)\n"
                                               "...     stage = checks.get(ns, 'load_and_preprocess')\n"
                                               '...     with tempfile.TemporaryDirectory() as folder:\n'
                                               '...         for name, (train, test) in raw_sets().items():\n'
                                               '...             given = described(name, train, test)\n'
                                               "...             if name == 'cifar10':\n"
                                               "...                 train, test = parse_cifar10(write_cifar10_archive(Path(folder) / 'cifar-10-python.tar.gz', train, test))\n"
                                               '...             with contextlib.redirect_stdout(io.StringIO()):\n'
                                               '...                 result = checks.call(stage, given, image_set(name, train, test), val_fraction=0.25, seed=7)\n'
                                               "...             assert isinstance(result, tuple) and len(result) == 4, f'load_and_preprocess({given}) should return (train, val, test, augmentation)'\n"
                                               "...             for part, pair in zip(('train', 'val', 'test'), result[:3]):\n"
                                               "...                 out[f'{name}_{part}_x'] = np.asarray(pair[0])\n"
                                               "...                 out[f'{name}_{part}_y'] = np.asarray(pair[1])\n"
                                               "...             batch = out[f'{name}_train_x'][:8]\n"
                                               '...             augmentation = result[3]\n'
                                               "...             out[f'{name}_augmented'] = np.asarray(checks.call(augmentation, f'8 {name} training images, training=True', batch, training=True))\n"
                                               "...             out[f'{name}_inference'] = np.asarray(checks.call(augmentation, f'8 {name} training images, training=False', batch, training=False))\n"
                                               '...     return out\n'
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'dtype\'] == \'float32\', f"scale the images to float32, not {data[\'dtype\']}"\n'
                                               "...     for name in ('x_train', 'x_val', 'x_test'):\n"
                                               "...         shape = tuple(data[f'{name}_shape'])\n"
                                               "...         assert len(shape) == 4, f'{name} should be NHWC images (N, height, width, channels), has shape {shape}'\n"
                                               "...         sample = data[f'{name}_sample']\n"
                                               "...         assert sample.min() >= 0.0 and sample.max() <= 1.0, f'scale {name} to [0, 1]'\n"
                                               "...         label = 'y' + name[1:]\n"
                                               "...         assert data[f'{label}_shape'] == [shape[0]], f'{label} should hold one label per image of {name}'\n"
                                               "...     assert data['x_test_shape'][0] == 10000, 'keep the whole test set (10,000 images) in x_test'\n"
                                               "...     assert data['x_val_shape'][0] > 0, 'split off a validation set'\n"
                                               '...     for name, ((x, y), (x_test, y_test)) in raw_sets().items():\n'
                                               "...         shape = (32, 32, 3) if name == 'cifar10' else (28, 28, 1)\n"
                                               '...         originals = {image.tobytes(): int(label) for image, label in zip(x.reshape(len(x), *shape), y)}\n'
                                               '...         seen = []\n'
                                               "...         for part in ('train', 'val'):\n"
                                               "...             xs, ys = (data[f'{name}_{part}_x'], data[f'{name}_{part}_y'])\n"
                                               "...             assert xs.dtype == np.float32, f'{name}: {part} images should be float32, are {xs.dtype}'\n"
                                               "...             assert xs.shape[1:] == shape, f'{name}: {part} images should keep the NHWC shape {shape}, have {xs.shape[1:]}'\n"
                                               "...             assert np.allclose(xs * 255.0, np.rint(xs * 255.0), atol=0.001), f'{name}: scale the pixels by dividing by 255'\n"
                                               '...             for image, label in zip(np.rint(xs * 255.0).astype(np.uint8), ys):\n'
                                               '...                 key = image.tobytes()\n'
                                               "...                 assert key in originals, f'{name}: a {part} image is not one of the training images divided by 255'\n"
                                               "...                 assert originals[key] == int(label), f'{name}: a {part} image lost its label: keep images and labels together when splitting'\n"
                                               '...                 seen.append(key)\n'
                                               "...         assert sorted(seen) == sorted(originals), f'{name}: every training image must land in exactly one of train and val'\n"
                                               "...         n_val = len(data[f'{name}_val_y'])\n"
                                               "...         assert abs(n_val - 0.25 * len(x)) <= 1, f'{name}: with val_fraction=0.25 the validation set should hold {0.25 * len(x):g} of {len(x)} "
                                               "images, holds {n_val}'\n"
                                               '...         position = {image.tobytes(): i for i, image in enumerate(x.reshape(len(x), *shape))}\n'
                                               "...         picked = {position[image.tobytes()] for image in np.rint(data[f'{name}_val_x'] * 255.0).astype(np.uint8)}\n"
                                               "...         assert picked not in ({*range(n_val)}, {*range(len(x) - n_val, len(x))}), f'{name}: pick the validation images at random, not the first or "
                                               "last ones'\n"
                                               "...         expected = x_test.reshape(len(x_test), *shape).astype('float32') / 255.0\n"
                                               "...         got = data[f'{name}_test_x']\n"
                                               "...         assert got.shape == expected.shape and np.allclose(got, expected, atol=1e-06), f'{name}: the test images should be all test images, in "
                                               "order, divided by 255'\n"
                                               "...         assert (data[f'{name}_test_y'].astype(int) == y_test).all(), f'{name}: keep the test labels in order'\n"
                                               "...         batch = data[f'{name}_train_x'][:8]\n"
                                               "...         assert data[f'{name}_augmented'].shape == batch.shape, f'{name}: augmentation must keep the image shape'\n"
                                               "...         assert not np.allclose(data[f'{name}_augmented'], batch, atol=0.001), f'{name}: augmentation(x, training=True) left the images unchanged: "
                                               "use random layers'\n"
                                               "...         assert np.allclose(data[f'{name}_inference'], batch, atol=1e-05), f'{name}: augmentation must leave images unchanged at inference "
                                               "(training=False)'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
