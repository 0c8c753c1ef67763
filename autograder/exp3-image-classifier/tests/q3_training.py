OK_FORMAT = True

test = {   'name': 'q3_training',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     history = checks.get(ns, 'history')\n"
                                               "...     assert hasattr(history, 'history'), '`history` should be what model.fit returns'\n"
                                               "...     return {'history': {k: [float(v) for v in vs] for k, vs in history.history.items()}}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert 'val_loss' in data['history'], 'validate on `val` (validation_data=...) so that val_loss is recorded'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import contextlib\n'
                                               '>>> import inspect\n'
                                               '>>> import io\n'
                                               '>>> import keras\n'
                                               '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.experiments import threshold\n'
                                               '>>> def optimizer_of(model):\n'
                                               "...     config = (model.get_compile_config() or {}).get('optimizer') or {}\n"
                                               "...     return (config.get('class_name'), isinstance((config.get('config') or {}).get('learning_rate'), dict))\n"
                                               '>>> def small_run(ns):\n'
                                               "...     stage = checks.get(ns, 'train_model')\n"
                                               '...     rng = np.random.default_rng(414447)\n'
                                               "...     x, y = (rng.random((48, 16, 16, 3)).astype('float32'), rng.integers(0, 3, 48))\n"
                                               "...     small = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, activation='relu'), keras.layers.GlobalAveragePooling2D(), "
                                               "keras.layers.Dense(3, activation='softmax')])\n"
                                               "...     seen, own = ([], 'fit' in vars(keras.Model))\n"
                                               '...     original = keras.Model.fit\n'
                                               '...     def watching(self, *args, **kwargs):\n'
                                               '...         bound = inspect.signature(original).bind(self, *args, **kwargs).arguments\n'
                                               "...         seen.extend((type(c).__name__ for c in bound.get('callbacks') or []))\n"
                                               '...         return original(self, *args, **kwargs)\n'
                                               '...     keras.Model.fit = watching\n'
                                               '...     try:\n'
                                               '...         with contextlib.redirect_stdout(io.StringIO()):\n'
                                               "...             result = checks.call(stage, 'a small CNN, (36 random 16x16x3 images, labels 0-2), (12 such images, labels), epochs=2, batch_size=12', "
                                               'small, (x[:36], y[:36]), (x[36:], y[36:]), epochs=2, batch_size=12)\n'
                                               '...     finally:\n'
                                               '...         if own:\n'
                                               '...             keras.Model.fit = original\n'
                                               '...         else:\n'
                                               '...             del keras.Model.fit\n'
                                               "...     assert hasattr(result, 'history'), 'train_model should return what model.fit returns'\n"
                                               '...     return (small, result, seen)\n'
                                               '>>> def extract(ns):\n'
                                               '...     small, result, seen = small_run(ns)\n'
                                               "...     history = checks.get(ns, 'history')\n"
                                               "...     assert hasattr(history, 'history'), '`history` should be what model.fit returns'\n"
                                               "...     return {'small_history': {k: [float(v) for v in vs] for k, vs in result.history.items()}, 'small_optimizer': optimizer_of(small), 'callbacks': "
                                               "seen, 'optimizer': optimizer_of(checks.get(ns, 'model', keras.Model)), 'history': {k: [float(v) for v in vs] for k, vs in history.history.items()}}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert 'val_loss' in data['history'], 'validate on `val` (validation_data=...) so that val_loss is recorded'\n"
                                               "...     for name in ('small_optimizer', 'optimizer'):\n"
                                               '...         optimizer, scheduled = data[name]\n'
                                               "...         assert optimizer == 'Adam', f'compile with the Adam optimizer, found {optimizer}'\n"
                                               "...     scheduled = data['small_optimizer'][1] or 'learning_rate' in data['small_history'] or any((c in ('EarlyStopping', 'ReduceLROnPlateau', "
                                               "'LearningRateScheduler') for c in data['callbacks']))\n"
                                               "...     assert scheduled, 'use a learning-rate schedule (keras.optimizers.schedules, ReduceLROnPlateau, LearningRateScheduler) or EarlyStopping'\n"
                                               "...     small = data['small_history']\n"
                                               "...     for key in ('loss', 'accuracy', 'val_loss', 'val_accuracy'):\n"
                                               '...         assert key in small, f"the history lacks {key!r}: compile with metrics=[\'accuracy\'] and pass validation_data=val"\n'
                                               '...     assert 1 <= len(small[\'loss\']) <= 2, f"train_model(..., epochs=2) trained {len(small[\'loss\'])} epochs"\n'
                                               "...     epochs = len(data['history']['loss'])\n"
                                               "...     least = int(threshold('exp3-image-classifier', 'min_epochs'))\n"
                                               "...     assert epochs >= least, f'`model` trained for {epochs} epoch(s); train for at least {least}'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
