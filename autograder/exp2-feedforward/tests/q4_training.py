OK_FORMAT = True

test = {   'name': 'q4_training',
    'points': 2,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     history = checks.get(ns, 'history')\n"
                                               "...     assert hasattr(history, 'history'), '`history` should be what model.fit returns'\n"
                                               "...     return {'history': {k: [float(v) for v in vs] for k, vs in history.history.items()}}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert 'val_loss' in data['history'], 'train with a validation split so that val_loss is recorded'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.experiments import threshold\n'
                                               '>>> def extract(ns):\n'
                                               "...     history = checks.get(ns, 'history')\n"
                                               "...     assert hasattr(history, 'history'), '`history` should be what model.fit returns'\n"
                                               "...     model = checks.get(ns, 'model', keras.Model)\n"
                                               "...     return {'history': {k: [float(v) for v in vs] for k, vs in history.history.items()}, 'model': model, 'training': "
                                               'checks.keras_training(history, model)}\n'
                                               '>>> def judge(data):\n'
                                               "...     assert 'val_loss' in data['history'], 'train with a validation split so that val_loss is recorded'\n"
                                               "...     history = data['history']\n"
                                               "...     for key in ('loss', 'accuracy', 'val_loss', 'val_accuracy'):\n"
                                               '...         assert key in history, f"history lacks {key!r}: compile with metrics=[\'accuracy\'] and train with a validation split"\n'
                                               "...     checks.assert_trained_as_recorded(history, data['training'], checks.mnist_loss(data['model']))\n"
                                               "...     epochs = len(history['loss'])\n"
                                               '...     asked = 6\n'
                                               "...     assert epochs == asked, f'trained for {epochs} epoch(s); this notebook asks for {asked}'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 1}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
