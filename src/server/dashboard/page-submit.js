// Page #/submit: paste a plan or a single request as JSON or YAML (draft kept in sessionStorage).

import { ApiError, api, errorContent } from './api.js';
import { h, pageHeader } from './dom.js';
import { storageGet, storageSet } from './util.js';

const DRAFT_KEY = 'cloudops-exec.submit-draft';

/**
 * Whether YAML text is a plan: it has a top-level `commands` key (block style, or a flow
 * mapping). The server parses the YAML itself; a request has no `commands` field at all.
 */
const yamlIsPlan = (text) =>
  /^["']?commands["']?\s*:/m.test(text) || /^\s*\{[\s\S]*["']?\bcommands["']?\s*:/.test(text);

const EXAMPLES = {
  'DAG plan': {
    description: 'Build and test',
    strategy: { type: 'dependency_graph', dependencies: { 1: [0], 2: [0], 3: [1, 2] } },
    commands: [
      { description: 'prepare', command: { type: 'shell', command: 'echo preparing; sleep 1' } },
      {
        description: 'build',
        command: { type: 'shell', command: 'for i in 1 2 3; do echo "build step $i"; sleep 0.5; done' },
      },
      { description: 'lint', command: { type: 'shell', command: 'echo linting; echo "1 warning" >&2' } },
      { description: 'report', command: { type: 'shell', command: 'echo all done' } },
    ],
  },
  'Serial plan': {
    description: 'Two steps, one after the other',
    strategy: { type: 'serial', stop_on_error: true },
    commands: [
      { command: { type: 'exec', program: 'uname', args: ['-a'] } },
      { command: { type: 'exec', program: 'df', args: ['-h'] } },
    ],
  },
  'Single command': { description: 'Disk usage', command: { type: 'exec', program: 'df', args: ['-h'] } },
};

export function pageSubmit(root, scope) {
  document.title = 'Submit · cloudops-exec';
  const body = h('textarea', {
    id: 'submit-body',
    testid: 'submit-body',
    rows: 22,
    spellcheck: 'false',
    autocapitalize: 'off',
    autocomplete: 'off',
    class: 'mono',
    'aria-describedby': 'submit-result submit-help',
    placeholder: JSON.stringify(EXAMPLES['Single command'], null, 2),
  });
  body.value = storageGet(sessionStorage, DRAFT_KEY) ?? '';
  const saveDraft = scope.debounce(() => storageSet(sessionStorage, DRAFT_KEY, body.value || null), 300);
  body.addEventListener('input', saveDraft);
  body.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  const result = h('div', {
    id: 'submit-result',
    class: 'submit-result',
    testid: 'submit-result',
    role: 'status',
    'aria-live': 'polite',
  });
  const button = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'submit-button' }, 'Submit');
  const format = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-ghost',
      onclick: () => {
        try {
          body.value = JSON.stringify(JSON.parse(body.value), null, 2);
          saveDraft();
        } catch (err) {
          showResult('error', [h('p', {}, `Not valid JSON: ${err.message}`)]);
        }
      },
    },
    'Format JSON',
  );

  function showResult(kind, content) {
    result.className = `submit-result ${kind}`;
    result.replaceChildren(...content);
    if (kind === 'error') body.setAttribute('aria-invalid', 'true');
    else body.removeAttribute('aria-invalid');
  }

  async function submit(event) {
    event.preventDefault();
    const text = body.value.trim();
    if (!text) {
      showResult('error', [h('p', {}, 'Paste a plan or a single request first (or pick an example).')]);
      body.focus();
      return;
    }
    // JSON when it parses as JSON; anything else is sent as YAML, which the server reads (and locates errors in).
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const yaml = parsed === undefined;
    if (!yaml && (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))) {
      showResult('error', [
        h('p', {}, 'Expected a JSON object: a plan ({"commands": [...]}) or one request ({"command": {...}}).'),
      ]);
      return;
    }
    const isPlan = yaml ? yamlIsPlan(text) : 'commands' in parsed;
    button.disabled = true;
    showResult('busy', [h('p', {}, 'Submitting…')]);
    try {
      const path = isPlan ? '/api/plans' : '/api/executions';
      const answer = yaml
        ? await api('POST', path, text, { contentType: 'application/yaml' })
        : await api('POST', path, parsed);
      storageSet(sessionStorage, DRAFT_KEY, null);
      if (!scope.alive) return;
      if (answer.status === 'awaiting_approval' && answer.approval_id) {
        showResult('ok', [h('p', {}, 'Waiting for approval…')]);
        location.hash = `#/approvals/${encodeURIComponent(answer.approval_id)}`;
      } else {
        showResult('ok', [h('p', {}, 'Started.')]);
        location.hash = `#/executions/${encodeURIComponent(answer.id)}`;
      }
    } catch (err) {
      if (!scope.alive) return;
      showResult(
        'error',
        errorContent(
          err,
          err instanceof ApiError && err.status === 400
            ? `Invalid ${isPlan ? 'plan' : 'request'}${yaml ? ' (read as YAML: it is not JSON)' : ''}:`
            : undefined,
        ),
      );
    } finally {
      button.disabled = false;
    }
  }

  const form = h(
    'form',
    { class: 'panel submit-form', onsubmit: submit },
    h(
      'div',
      { class: 'examples' },
      h('span', { class: 'muted small' }, 'Examples:'),
      Object.entries(EXAMPLES).map(([name, example]) =>
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-small',
            onclick: () => {
              body.value = JSON.stringify(example, null, 2);
              saveDraft();
              body.focus();
            },
          },
          name,
        ),
      ),
    ),
    h('label', { for: 'submit-body' }, 'Plan or single request (JSON or YAML)'),
    body,
    // Right under the text: what is wrong with it (a YAML error names its line and column), or how it went.
    result,
    h(
      'p',
      { id: 'submit-help', class: 'muted small' },
      'A plan has ',
      h('code', {}, 'commands'),
      ' and an optional ',
      h('code', {}, 'strategy'),
      ' (serial, parallel or dependency_graph); anything else is read as one request with a ',
      h('code', {}, 'command'),
      '. Text that is not JSON is read as YAML. Work that is not read-only waits for approval. Ctrl+Enter submits.',
    ),
    h('div', { class: 'button-row' }, button, format),
  );
  root.append(pageHeader('Submit'), form);
}
