OK_FORMAT = True

test = {   'name': 'q4_neighbours',
    'points': 4,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     similarity = checks.get(ns, 'cosine_similarity')(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]]), np.array([2.0, 0.0]))\n"
                                               "...     nearest = checks.get(ns, 'nearest_neighbours')('b', np.array([[1.0, 0.0], [1.0, 0.1], [0.9, 0.2], [0.0, 1.0]]), ['<pad>', 'b', 'c', 'd'], "
                                               'k=2)\n'
                                               "...     return {'similarity': np.asarray(similarity, dtype=float), 'nearest': list(nearest)}\n"
                                               '>>> def judge(data):\n'
                                               '...     expected = [1.0, 0.0, np.sqrt(0.5)]\n'
                                               '...     assert np.allclose(data[\'similarity\'], expected), f"cosine_similarity gave {data[\'similarity\'].round(4).tolist()}, expected '
                                               '{np.round(expected, 4).tolist()}"\n'
                                               '...     assert data[\'nearest\'] == [\'c\', \'d\'], f"nearest_neighbours(\'b\', ..., k=2) gave {data[\'nearest\']}, expected [\'c\', \'d\'] (never the '
                                               'word itself or \'<pad>\')"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
