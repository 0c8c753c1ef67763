OK_FORMAT = True

test = {   'name': 'q3_training',
    'points': 5,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     embeddings = checks.as_numpy(checks.get(ns, 'embeddings'), 'embeddings').astype('float64')\n"
                                               "...     shape = (len(checks.get(ns, 'vocab')), int(checks.get(ns, 'EMBED_DIM')))\n"
                                               "...     return {'shape': list(embeddings.shape), 'vocab_size': len(checks.get(ns, 'vocab')), 'dim': int(checks.get(ns, 'EMBED_DIM')), 'finite': "
                                               "bool(np.isfinite(embeddings).all()), 'own': any((np.allclose(w, embeddings, atol=1e-06) for w in checks.weight_matrices(checks.get(ns, 'model'), "
                                               'shape)))}\n'
                                               '>>> def judge(data):\n'
                                               "...     expected = (data['vocab_size'], data['dim'])\n"
                                               '...     assert tuple(data[\'shape\']) == expected, f"`embeddings` has shape {tuple(data[\'shape\'])}, expected (len(vocab), EMBED_DIM) = {expected}"\n'
                                               "...     assert data['finite'], '`embeddings` holds NaN or infinite values: lower the learning rate'\n"
                                               '...     assert data[\'own\'], "`embeddings` are not the weights of an embedding layer of your `model`: hand in your model\'s own trained vectors (e.g. '
                                               'model.context_vectors.weight.detach().numpy())"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.experiments import threshold\n'
                                               '>>> def extract(ns):\n'
                                               "...     embeddings = checks.as_numpy(checks.get(ns, 'embeddings'), 'embeddings').astype('float64')\n"
                                               "...     shape = (len(checks.get(ns, 'vocab')), int(checks.get(ns, 'EMBED_DIM')))\n"
                                               "...     return {'shape': list(embeddings.shape), 'vocab_size': len(checks.get(ns, 'vocab')), 'dim': int(checks.get(ns, 'EMBED_DIM')), 'finite': "
                                               "bool(np.isfinite(embeddings).all()), 'own': any((np.allclose(w, embeddings, atol=1e-06) for w in checks.weight_matrices(checks.get(ns, 'model'), "
                                               "shape))), 'embeddings': embeddings.astype('float32'), 'vocab': list(checks.get(ns, 'vocab')), 'corpus': checks.get(ns, 'CORPUS'), 'model_weights': "
                                               "checks.weight_matrices(checks.get(ns, 'model'), shape), 'library': checks.library_vectors(ns, list(checks.get(ns, 'vocab')), shape[1]), 'losses': "
                                               "[float(v) for v in checks.get(ns, 'losses', list)]}\n"
                                               '>>> def judge(data):\n'
                                               "...     expected = (data['vocab_size'], data['dim'])\n"
                                               '...     assert tuple(data[\'shape\']) == expected, f"`embeddings` has shape {tuple(data[\'shape\'])}, expected (len(vocab), EMBED_DIM) = {expected}"\n'
                                               "...     assert data['finite'], '`embeddings` holds NaN or infinite values: lower the learning rate'\n"
                                               '...     assert data[\'own\'], "`embeddings` are not the weights of an embedding layer of your `model`: hand in your model\'s own trained vectors (e.g. '
                                               'model.context_vectors.weight.detach().numpy())"\n'
                                               "...     embeddings = data['embeddings']\n"
                                               '...     assert any((np.allclose(w, embeddings, atol=1e-05) for w in data[\'model_weights\'])), "`embeddings` are not the weights of an embedding layer '
                                               'of your `model`: hand in your model\'s own trained vectors"\n'
                                               "...     most = threshold('exp5-cbow', 'library_agreement')\n"
                                               "...     copied = max((checks.similarity_agreement(embeddings, vectors) for vectors in data['library']), default=0.0)\n"
                                               '...     assert copied <= most, f"`embeddings` are gensim\'s vectors: their word similarities agree {copied:.3f} with those of the gensim model in your '
                                               'notebook, above {most} (a CBOW model trained on its own agrees about 0.8); train the embeddings with your CBOW model"\n'
                                               "...     corpus = data['corpus']\n"
                                               '...     assert corpus in checks.NEIGHBOUR_GROUPS, f"CORPUS should be \'bbc-news\' or \'kjv\', not {corpus!r}"\n'
                                               "...     quality = checks.neighbour_quality(embeddings, data['vocab'], checks.NEIGHBOUR_GROUPS[corpus])\n"
                                               '...     score = float(np.mean(list(quality.values())))\n'
                                               '...     least = threshold(\'exp5-cbow\', f"neighbour_quality_{corpus.replace(\'-\', \'_\')}")\n'
                                               "...     shown = ', '.join((f'{name} {value:.2f}' for name, value in quality.items()))\n"
                                               '...     assert score >= least, f"neighbour quality measured by the grader: {score:.3f} ({shown}); it must reach {least}: '
                                               '{checks.training_hint(data[\'losses\'])}"\n'
                                               "...     return {'neighbour quality (grader)': score, 'agreement with gensim': copied, **{f'quality {name}': value for name, value in "
                                               'quality.items()}}\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 4}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
