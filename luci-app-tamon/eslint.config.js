// ESLint flat config for luci-app-tamon's client-side views and modules.
//
// LuCI evaluates each file as the body of
// function (window, document, L, <required modules...>) { ... }, so a file
// may "return" at top level, and the modules it requires with
// 'require NAME [as ALIAS]' arrive as parameters: they are declared below as
// read-only globals. The harness lint (lint_test.go) checks that each is
// really required and that the shim provides what is used.
'use strict';

const js = require('@eslint/js');

const luci = {
	L: 'readonly', E: 'readonly', _: 'readonly', N_: 'readonly', cbi_update_table: 'readonly',
	window: 'readonly', document: 'readonly', console: 'readonly', WebSocket: 'readonly',
	URL: 'readonly', URLSearchParams: 'readonly', Event: 'readonly', CustomEvent: 'readonly',
	// modules bound by 'require' directives
	baseclass: 'readonly', view: 'readonly', form: 'readonly', rpc: 'readonly', uci: 'readonly',
	ui: 'readonly', poll: 'readonly', dom: 'readonly', request: 'readonly',
	api: 'readonly', chart: 'readonly', table: 'readonly'
};

module.exports = [
	js.configs.recommended,
	{
		files: ['htdocs/**/*.js'],
		languageOptions: {
			ecmaVersion: 2022,
			sourceType: 'script',
			parserOptions: { ecmaFeatures: { globalReturn: true } },
			globals: luci
		},
		rules: {
			'no-unused-vars': ['error', { args: 'none' }],
			'no-var': 'error',
			'prefer-const': 'error',
			'eqeqeq': ['error', 'always'],
			'no-implicit-globals': 'error',
			'no-eval': 'error',
			'no-implied-eval': 'error',
			'no-new-func': 'error',
			'strict': ['error', 'global']
		}
	}
];
