OK_FORMAT = True

test = {   'name': 'q3_training',
    'points': 5,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     embeddings = checks.as_numpy(checks.get(ns, 'embeddings'), 'embeddings').astype('float64')\n"
                                               "...     return {'shape': list(embeddings.shape), 'vocab_size': len(checks.get(ns, 'vocab')), 'dim': int(checks.get(ns, 'EMBED_DIM')), 'finite': "
                                               'bool(np.isfinite(embeddings).all())}\n'
                                               '>>> def judge(data):\n'
                                               "...     expected = (data['vocab_size'], data['dim'])\n"
                                               '...     assert tuple(data[\'shape\']) == expected, f"`embeddings` has shape {tuple(data[\'shape\'])}, expected (len(vocab), EMBED_DIM) = {expected}"\n'
                                               "...     assert data['finite'], '`embeddings` holds NaN or infinite values: lower the learning rate'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.experiments import threshold\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'embeddings': checks.as_numpy(checks.get(ns, 'embeddings'), 'embeddings').astype('float32'), 'vocab': list(checks.get(ns, 'vocab')), "
                                               "'corpus': checks.get(ns, 'CORPUS')}\n"
                                               '>>> def judge(data):\n'
                                               "...     corpus = data['corpus']\n"
                                               '...     assert corpus in checks.NEIGHBOUR_GROUPS, f"CORPUS should be \'bbc-news\' or \'kjv\', not {corpus!r}"\n'
                                               "...     quality = checks.neighbour_quality(data['embeddings'], data['vocab'], checks.NEIGHBOUR_GROUPS[corpus])\n"
                                               '...     score = float(np.mean(list(quality.values())))\n'
                                               '...     least = threshold(\'exp5-cbow\', f"neighbour_quality_{corpus.replace(\'-\', \'_\')}")\n'
                                               "...     shown = ', '.join((f'{name} {value:.2f}' for name, value in quality.items()))\n"
                                               "...     assert score >= least, f'neighbour quality measured by the grader: {score:.3f} ({shown}); it must reach {least}: train the embeddings (more "
                                               "epochs or a larger learning rate)'\n"
                                               "...     return {'neighbour quality (grader)': score, **{f'quality {name}': value for name, value in quality.items()}}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 4}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
