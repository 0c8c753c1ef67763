OK_FORMAT = True

test = {   'name': 'q1_tensorflow',
    'points': 5,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     layers = checks.dense_layers(checks.get(ns, 'tf_params', list))\n"
                                               "...     checks.check_mlp(layers, 'tf_params')\n"
                                               "...     return {'epochs': len(checks.get(ns, 'tf_seconds', list)), 'accuracy': float(checks.get(ns, 'tf_accuracy'))}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'epochs\'] == 2, f"train_tensorflow trained {data[\'epochs\']} epoch(s); train for EPOCHS = 2"\n'
                                               "...     assert 0.0 <= data['accuracy'] <= 1.0, 'tf_accuracy should be an accuracy between 0 and 1'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.experiments import threshold\n'
                                               '>>> def extract(ns):\n'
                                               "...     layers = checks.dense_layers(checks.get(ns, 'tf_params', list))\n"
                                               "...     checks.check_mlp(layers, 'tf_params')\n"
                                               "...     data = checks.export_layers(layers, 'tf')\n"
                                               "...     data.update({'epochs': len(checks.get(ns, 'tf_seconds', list)), 'accuracy': float(checks.get(ns, 'tf_accuracy'))})\n"
                                               '...     return data\n'
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'epochs\'] == 2, f"train_tensorflow trained {data[\'epochs\']} epoch(s); train for EPOCHS = 2"\n'
                                               "...     assert 0.0 <= data['accuracy'] <= 1.0, 'tf_accuracy should be an accuracy between 0 and 1'\n"
                                               "...     accuracy = checks.mlp_accuracy(checks.layers_from(data, 'tf'))\n"
                                               "...     least = threshold('exp1-frameworks', 'test_accuracy')\n"
                                               "...     assert accuracy >= least, f'TensorFlow MLP: test accuracy measured by the grader {accuracy:.4f}; it must reach {least}'\n"
                                               "...     return {'TensorFlow test accuracy (grader)': accuracy}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2},
                                   {   'code': '>>> import ast\n'
                                               '>>> import inspect\n'
                                               '>>> import textwrap\n'
                                               '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     step = checks.get(ns, 'tf_train_step')\n"
                                               "...     assert hasattr(step, 'python_function'), 'decorate tf_train_step with @tf.function so TensorFlow runs it as a graph'\n"
                                               '...     source = textwrap.dedent(inspect.getsource(step.python_function))\n'
                                               "...     params = checks.get(ns, 'tf_params', list)\n"
                                               "...     x, y = (checks.get(ns, 'x_train')[:64], checks.get(ns, 'y_train')[:64])\n"
                                               '...     variables = step.get_concrete_function(x, y).variables\n'
                                               '...     saved = [v.numpy() for v in variables]\n'
                                               '...     before = [np.array(p.numpy()) for p in params]\n'
                                               '...     step(x, y)\n'
                                               '...     changed = [bool(not np.array_equal(old, p.numpy())) for old, p in zip(before, params)]\n'
                                               '...     for variable, value in zip(variables, saved):\n'
                                               '...         variable.assign(value)\n'
                                               "...     return {'source': source, 'changed': changed}\n"
                                               '>>> def _called(node, names):\n'
                                               '...     func = node.func\n'
                                               "...     name = func.attr if isinstance(func, ast.Attribute) else getattr(func, 'id', '')\n"
                                               '...     return name in names\n'
                                               '>>> def judge(data):\n'
                                               "...     tree = ast.parse(data['source'])\n"
                                               '...     tapes = [item.optional_vars.id for node in ast.walk(tree) if isinstance(node, ast.With) for item in node.items if '
                                               "isinstance(item.context_expr, ast.Call) and _called(item.context_expr, {'GradientTape'}) and isinstance(item.optional_vars, ast.Name)]\n"
                                               "...     assert tapes, 'tf_train_step must record the forward pass in `with tf.GradientTape() as tape:`'\n"
                                               '...     calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]\n'
                                               "...     assert any((_called(c, {'gradient'}) and isinstance(c.func, ast.Attribute) and isinstance(c.func.value, ast.Name) and (c.func.value.id in "
                                               "tapes) for c in calls)), 'tf_train_step must take the gradients with tape.gradient(loss, tf_params)'\n"
                                               "...     keras_training = sorted({c.func.attr for c in calls if _called(c, {'fit', 'compile', 'train_on_batch'}) and isinstance(c.func, "
                                               'ast.Attribute)})\n'
                                               '...     assert not keras_training, f"tf_train_step calls Keras\'s {\', \'.join(keras_training)}: write the training step with GradientTape only"\n'
                                               '...     assert all(data[\'changed\']), f"one call of tf_train_step changed {sum(data[\'changed\'])} of the {len(data[\'changed\'])} variables in '
                                               'tf_params; it should update every weight and bias"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
