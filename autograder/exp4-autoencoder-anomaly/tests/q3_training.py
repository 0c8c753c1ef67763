OK_FORMAT = True

test = {   'name': 'q3_training',
    'points': 2,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     history = checks.get(ns, 'history')\n"
                                               "...     assert hasattr(history, 'history'), '`history` should be what autoencoder.fit returns'\n"
                                               "...     return {'history': {k: [float(v) for v in vs] for k, vs in history.history.items()}}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert 'val_loss' in data['history'], 'validate on x_val so that val_loss is recorded'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.experiments import threshold\n'
                                               '>>> def extract(ns):\n'
                                               "...     history = checks.get(ns, 'history')\n"
                                               "...     assert hasattr(history, 'history'), '`history` should be what autoencoder.fit returns'\n"
                                               "...     autoencoder = checks.get(ns, 'autoencoder', keras.Model)\n"
                                               "...     return {'history': {k: [float(v) for v in vs] for k, vs in history.history.items()}, 'autoencoder': autoencoder, 'digit': int(checks.get(ns, "
                                               "'NORMAL_DIGIT')), 'training': checks.keras_training(history, autoencoder)}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert 'val_loss' in data['history'], 'validate on x_val so that val_loss is recorded'\n"
                                               "...     loss = data['history']['loss']\n"
                                               "...     least = int(threshold('exp4-autoencoder-anomaly', 'min_epochs'))\n"
                                               "...     assert len(loss) >= least, f'trained for {len(loss)} epoch(s); train for at least {least}'\n"
                                               "...     assert loss[-1] < loss[0], 'the training loss did not decrease'\n"
                                               "...     checks.assert_trained_as_recorded(data['history'], data['training'], checks.mnist_reconstruction_loss(data['autoencoder'], 0), "
                                               "model='autoencoder', absolute=0.01)\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 1}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
