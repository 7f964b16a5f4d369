import { describe, expect, it } from 'vitest';
import { ApiKeyCheck } from './api-key';

const check = new ApiKeyCheck('s3cret-key');

describe('ApiKeyCheck', () => {
  it('accepts the key as a Bearer token, trimmed', () => {
    expect(check.accepts({ authorization: 'Bearer s3cret-key' }, '/v1/models')).toBe(true);
    expect(check.accepts({ authorization: 'Bearer  s3cret-key  ' }, '/v1/models')).toBe(true);
  });

  it('refuses a wrong, empty or partial Bearer token', () => {
    expect(check.accepts({ authorization: 'Bearer wrong' }, '/')).toBe(false);
    expect(check.accepts({ authorization: 'Bearer ' }, '/')).toBe(false);
    expect(check.accepts({ authorization: 'Bearer s3cret' }, '/')).toBe(false);
    expect(check.accepts({ authorization: 'Bearer s3cret-key-and-more' }, '/')).toBe(false);
  });

  it('reads the token only after the exact "Bearer " scheme', () => {
    expect(check.accepts({ authorization: 's3cret-key' }, '/')).toBe(false);
    expect(check.accepts({ authorization: 'Basic s3cret-key' }, '/')).toBe(false);
    expect(check.accepts({ authorization: 'Bearers3cret-key' }, '/')).toBe(false);
  });

  it('accepts the key in x-api-key, untrimmed', () => {
    expect(check.accepts({ 'x-api-key': 's3cret-key' }, '/api/tags')).toBe(true);
    expect(check.accepts({ 'x-api-key': ' s3cret-key' }, '/api/tags')).toBe(false);
    expect(check.accepts({ 'x-api-key': 'wrong' }, '/api/tags')).toBe(false);
  });

  it('falls back to x-api-key when the authorization header is not a Bearer token', () => {
    expect(check.accepts({ authorization: 'Basic abc', 'x-api-key': 's3cret-key' }, '/')).toBe(true);
  });

  it('takes a Bearer token before x-api-key and the query', () => {
    expect(check.accepts({ authorization: 'Bearer wrong', 'x-api-key': 's3cret-key' }, '/?api_key=s3cret-key')).toBe(
      false,
    );
    expect(check.accepts({ 'x-api-key': 'wrong' }, '/?api_key=s3cret-key')).toBe(false);
  });

  it('accepts the key in the api_key query parameter, decoded', () => {
    expect(check.accepts({}, '/ws?api_key=s3cret-key')).toBe(true);
    expect(check.accepts({}, '/?x=1&api_key=s3cret%2Dkey')).toBe(true);
    expect(check.accepts({}, '/ws?api_key=wrong')).toBe(false);
    expect(check.accepts({}, '/ws?key=s3cret-key')).toBe(false);
    expect(check.accepts({}, '?api_key=s3cret-key')).toBe(true);
  });

  it('refuses a request without any key', () => {
    expect(check.accepts({}, '/v1/models')).toBe(false);
    expect(check.accepts({}, '/api_key=s3cret-key')).toBe(false);
    expect(check.accepts({}, 'api_key=s3cret-key')).toBe(false);
    expect(check.accepts({ 'x-api-key': ['s3cret-key'] as unknown as string }, '/')).toBe(false);
  });

  it('accepts an empty query key only when the key itself is empty', () => {
    expect(check.accepts({}, '/?api_key=')).toBe(false);
    expect(new ApiKeyCheck('').accepts({}, '/?api_key=')).toBe(true);
    expect(new ApiKeyCheck('').accepts({}, '/')).toBe(false);
  });
});
