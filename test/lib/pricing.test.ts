import { strict as assert } from 'node:assert';
import { degressiveBasisPoints, discount, partnerPrice } from '../../lib/pricing';

describe('partner pricing', () => {
  it('applies the partner discount before the degressive rate: 347.20 → 277.76 → 208.32 CHF', () => {
    assert.deepEqual(partnerPrice({ publicCents: 34_720, degressiveBasisPoints: 2_500 }), {
      publicCents: 34_720,
      afterPartnerDiscountCents: 27_776,
      finalCents: 20_832,
      cashbackCents: 13_888,
    });
  });

  it('gives the euro figures of the same example: 201.25 → 161.00 → 120.75 EUR, a total reduction of 40 %', () => {
    const p = partnerPrice({ publicCents: 20_125, degressiveBasisPoints: 2_500 });
    assert.deepEqual([p.afterPartnerDiscountCents, p.finalCents], [16_100, 12_075]);
    assert.equal(Math.round((1 - p.finalCents / p.publicCents) * 100), 40);
  });

  it('is not the same as adding the rates (45 % off would be 190.96)', () => {
    assert.notEqual(partnerPrice({ publicCents: 34_720, degressiveBasisPoints: 2_500 }).finalCents, discount(34_720, 4_500));
  });

  it('rounds half up to the cent and refuses nonsense', () => {
    assert.equal(discount(999, 2_500), 749); // 749.25
    assert.equal(discount(1, 5_000), 1); // 0.5 rounds up
    assert.throws(() => discount(10.5, 100), RangeError);
    assert.throws(() => discount(100, 10_001), RangeError);
  });

  it('gives the degressive rate to Web and Mail hosting from 35 paid for, and to nothing else', () => {
    assert.equal(degressiveBasisPoints('web_hosting', 35), 2_500);
    assert.equal(degressiveBasisPoints('mail_hosting', 120), 2_500);
    assert.equal(degressiveBasisPoints('web_hosting', 34), 0);
    assert.equal(degressiveBasisPoints('domain', 500), 0);
  });
});
