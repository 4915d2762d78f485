/**
 * Request schemas shared by several routers, one copy each: a route that accepts a phone number or
 * a new password validates it the same way as every other route (and /openapi.json says so once).
 */
import { z } from 'zod';
import { E164 } from '../lib/phone';

export const phoneNumber = z.string().regex(E164, 'an E.164 number such as +41791234567');
export const NEW_PASSWORD = z.string().min(10, 'at least 10 characters').max(1024);
