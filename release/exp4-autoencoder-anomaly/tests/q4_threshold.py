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
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
