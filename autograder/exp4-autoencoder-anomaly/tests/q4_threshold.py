OK_FORMAT = True

test = {   'name': 'q4_threshold',
    'points': 4,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> K = 3\n'
                                               '>>> def extract(ns):\n'
                                               "...     threshold_fn = checks.get(ns, 'anomaly_threshold')\n"
                                               "...     flag_fn = checks.get(ns, 'flag_anomalies')\n"
                                               "...     return {'threshold': float(threshold_fn(np.array([1.0, 2.0, 3.0]))), 'flags': np.asarray(flag_fn(np.array([0.1, 0.5, 0.9]), 0.5))}\n"
                                               '>>> def judge(data):\n'
                                               '...     accepted = [2.0 + K * np.std([1.0, 2.0, 3.0], ddof=d) for d in (0, 1)]\n'
                                               '...     assert any((abs(data[\'threshold\'] - a) < 1e-06 for a in accepted)), f"anomaly_threshold([1, 2, 3]) gave {data[\'threshold\']}, expected mean '
                                               '+ {K:g} std = {accepted[0]:.6f} (or {accepted[1]:.6f} with the sample std)"\n'
                                               "...     assert data['flags'].astype(bool).tolist() == [False, False, True], 'flag only errors strictly above the threshold'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> K = 3\n'
                                               '>>> def cases():\n'
                                               '...     rng = np.random.default_rng(414447)\n'
                                               '...     arrays = [rng.gamma(2.0, 0.01, size=n) for n in (5, 50, 500)]\n'
                                               '...     arrays += [np.full(20, 0.25), np.array([0.3]), rng.normal(1.0, 0.2, size=200)]\n'
                                               '...     return arrays\n'
                                               '>>> def extract(ns):\n'
                                               "...     threshold_fn = checks.get(ns, 'anomaly_threshold')\n"
                                               "...     flag_fn = checks.get(ns, 'flag_anomalies')\n"
                                               "...     errors_fn = checks.get(ns, 'reconstruction_errors')\n"
                                               "...     autoencoder = checks.get(ns, 'autoencoder')\n"
                                               '...     out = {}\n'
                                               "...     out['threshold'] = float(threshold_fn(np.array([1.0, 2.0, 3.0])))\n"
                                               "...     out['flags'] = np.asarray(flag_fn(np.array([0.1, 0.5, 0.9]), 0.5))\n"
                                               '...     for i, errors in enumerate(cases()):\n'
                                               "...         out[f'threshold_{i}'] = float(threshold_fn(errors.copy()))\n"
                                               "...         out[f'flags_{i}'] = np.asarray(flag_fn(errors.copy(), float(np.median(errors)))).astype(bool)\n"
                                               "...         out[f'at_{i}'] = np.asarray(flag_fn(errors.copy(), float(errors.max()))).astype(bool)\n"
                                               '...     x, _ = checks.mnist_test_inputs((None, 784))\n'
                                               "...     out['probe_errors'] = np.asarray(errors_fn(autoencoder, x[:256]), dtype='float64')\n"
                                               "...     out['autoencoder'] = autoencoder\n"
                                               '...     return out\n'
                                               '>>> def judge(data):\n'
                                               '...     accepted = [2.0 + K * np.std([1.0, 2.0, 3.0], ddof=d) for d in (0, 1)]\n'
                                               '...     assert any((abs(data[\'threshold\'] - a) < 1e-06 for a in accepted)), f"anomaly_threshold([1, 2, 3]) gave {data[\'threshold\']}, expected mean '
                                               '+ {K:g} std = {accepted[0]:.6f} (or {accepted[1]:.6f} with the sample std)"\n'
                                               "...     assert data['flags'].astype(bool).tolist() == [False, False, True], 'flag only errors strictly above the threshold'\n"
                                               '...     for i, errors in enumerate(cases()):\n'
                                               "...         got = data[f'threshold_{i}']\n"
                                               '...         accepted = [errors.mean() + K * errors.std(ddof=d) for d in (0, 1) if d < len(errors)]\n'
                                               "...         assert any((abs(got - a) <= 1e-06 * max(1.0, abs(a)) for a in accepted)), f'anomaly_threshold gave {got:.6g} for {len(errors)} errors with "
                                               "mean {errors.mean():.6g} and std {errors.std():.6g}'\n"
                                               "...         assert data[f'flags_{i}'].tolist() == (errors > np.median(errors)).tolist(), 'flag_anomalies must flag exactly the errors above the "
                                               "threshold'\n"
                                               "...         assert not data[f'at_{i}'].any(), 'an error equal to the threshold is not above it'\n"
                                               '...     x, _ = checks.mnist_test_inputs((None, 784))\n'
                                               "...     expected = checks.reconstruction_errors(data['autoencoder'], x[:256])\n"
                                               "...     got = data['probe_errors']\n"
                                               "...     assert got.shape == (256,), f'reconstruction_errors should give one error per row, gave shape {got.shape}'\n"
                                               "...     assert np.allclose(got, expected, rtol=0.001, atol=1e-06), 'reconstruction_errors should be the mean squared error of each row'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 3}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
