import { expect, test } from 'vitest';
import { isSecretName, REDACTED, redactorFor, secretValues } from '../src/policy/redaction.js';

test('secret-looking names', () => {
  for (const name of [
    'AWS_SESSION_TOKEN',
    'AWS_SECRET_ACCESS_KEY',
    'GITHUB_TOKEN',
    'DB_PASSWORD',
    'MY_API_KEY',
    'client_secret',
  ])
    expect(isSecretName(name), name).toBe(true);
  for (const name of ['PATH', 'HOME', 'AWS_REGION', 'AWS_PROFILE', 'LANG'])
    expect(isSecretName(name), name).toBe(false);
});

test('values of secret variables are replaced everywhere in a text, longest first', () => {
  const secrets = secretValues({
    DB_PASSWORD: 'hunter22',
    API_TOKEN: 'hunter22-extended',
    PATH: '/usr/bin',
    SHORT_TOKEN: 'ab',
  });
  expect(secrets).toEqual(['hunter22-extended', 'hunter22']);
  const redact = redactorFor(secrets);
  expect(redact('pw=hunter22 tok=hunter22-extended path=/usr/bin ab')).toBe(
    `pw=${REDACTED} tok=${REDACTED} path=/usr/bin ab`,
  );
});

test('regex metacharacters in secrets are matched literally', () => {
  const redact = redactorFor(['a.b*c(d)']);
  expect(redact('x a.b*c(d) y aXbbc(d)')).toBe(`x ${REDACTED} y aXbbc(d)`);
});
