import { Type } from '@sinclair/typebox';
import { ROLES } from './roles.js';

/** A plain `enum` keyword, so a wrong value's error lists the roles. */
export const RoleName = Type.Unsafe<(typeof ROLES)[number]>({ type: 'string', enum: [...ROLES] });
