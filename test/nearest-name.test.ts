/** The valid word nearest a typo: close by a few edits or the only word it starts, never a guess between two. */
import { expect, test } from 'vitest';
import { didYouMean, nearestName } from '../src/nearest-name.js';
import { EXECUTION_STATUSES, RESULT_ERROR_CODES, RISK_LEVELS } from '../src/vocabulary.js';

test('a word a few edits away, or the only word it begins, is the one meant', () => {
  expect(nearestName('runing', EXECUTION_STATUSES)).toBe('running');
  expect(nearestName('destrcutive', RISK_LEVELS)).toBe('destructive'); // two letters swapped
  expect(nearestName('Completed', EXECUTION_STATUSES)).toBe('completed');
  expect(nearestName('rolled-back', EXECUTION_STATUSES)).toBe('rolled_back');
  expect(nearestName('spawn', RESULT_ERROR_CODES)).toBe('spawn_failed');
  expect(nearestName('interr', EXECUTION_STATUSES)).toBe('interrupted');
});

test('nothing is suggested when nothing is near, when two are equally near, or for a valid word', () => {
  expect(nearestName('Process spawn failed', RESULT_ERROR_CODES)).toBeNull();
  expect(nearestName('scary', RISK_LEVELS)).toBeNull();
  expect(nearestName('r', EXECUTION_STATUSES)).toBeNull(); // running and rolled_back both begin with it
  expect(nearestName('ok', RESULT_ERROR_CODES)).toBeNull(); // two edits from `io`, but that is the whole word
  expect(nearestName('', RISK_LEVELS)).toBeNull();
  expect(nearestName('failed', EXECUTION_STATUSES)).toBeNull();
  expect(nearestName('cat', ['bat', 'cap'])).toBeNull();
});

test('didYouMean ends a message with the suggestion, or adds nothing', () => {
  expect(didYouMean('modfy', RISK_LEVELS)).toBe('; did you mean "modify"?');
  expect(didYouMean('scary', RISK_LEVELS)).toBe('');
});
