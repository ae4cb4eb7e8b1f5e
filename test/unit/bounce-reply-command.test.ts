import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COMMAND_RULES, findCommand } from '../../src/bounce/reply.js';

/**
 * findCommand runs a stage's expression only when the text holds one of the literals of its
 * screen. The expressions are finite (literal text, non-capturing groups, `?`, `|` and `\b`),
 * so every string one can match is listed here and checked to hold a literal of the screen:
 * a screen that let a match through unscreened would change the answer.
 */

/** Every string the expression can match (`\b` read as nothing); throws on anything else. */
function language(source: string): string[] {
  let i = 0;
  const alternation = (): string[] => {
    const out = sequence();
    while (source[i] === '|') {
      i++;
      out.push(...sequence());
    }
    return out;
  };
  const sequence = (): string[] => {
    let out = [''];
    while (i < source.length && source[i] !== '|' && source[i] !== ')') {
      let atom: string[];
      if (source.startsWith('(?:', i)) {
        i += 3;
        atom = alternation();
        assert.equal(source[i], ')', `unclosed group in ${source}`);
        i++;
      } else if (source.startsWith('\\b', i)) {
        i += 2;
        atom = [''];
      } else if (source[i] === '\\') {
        throw new Error(`escape ${source.slice(i, i + 2)} not handled in ${source}`);
      } else if ('.[]{}()*+^$'.includes(source[i]!)) {
        throw new Error(`${source[i]} not handled in ${source}`);
      } else atom = [source[i++]!];
      if (source[i] === '?') {
        i++;
        atom = ['', ...atom];
      }
      out = out.flatMap((head) => atom.map((tail) => head + tail));
    }
    return out;
  };
  const all = alternation();
  assert.equal(i, source.length, `could not read ${source}`);
  return all;
}

describe('SMTP stage of a quoted reply', () => {
  it('screens each stage only by literals every match of its expression holds', () => {
    for (const { re, cmd, screen } of COMMAND_RULES) {
      assert.equal(re.flags, '', `${cmd}: findCommand lower-cases the text and reads it without flags`);
      const matches = language(re.source);
      assert.ok(matches.length > 5, cmd);
      for (const m of matches) {
        assert.ok(re.test(m), `${cmd}: the listing is wrong about ${m}`);
        assert.ok(
          screen.some((l) => m.includes(l)),
          `${cmd}: "${m}" matches but holds none of ${screen.join(', ')}`,
        );
      }
    }
  });

  it('names the stage mentioned first', () => {
    assert.equal(
      findCommand('host mx.example.com said: 550 5.1.1 unknown (in reply to RCPT TO command)'),
      'RCPT',
    );
    assert.equal(findCommand('550 refused (in reply to end of DATA command)'), 'DATA');
    assert.equal(findCommand('Sender was rejected, then after RCPT nothing'), 'MAIL');
    assert.equal(findCommand('554 no banner for you; in reply to MAIL FROM command'), 'CONNECT');
    assert.equal(findCommand('did not like our EHLO'), 'HELO');
    assert.equal(findCommand('550 5.1.1 user unknown'), null);
  });
});
