/** A phone number as E.164: a plus, a country code not starting with 0, at most 15 digits in all. One copy for the API's schemas and the notifications' own check. */
export const E164 = /^\+[1-9]\d{6,14}$/;
