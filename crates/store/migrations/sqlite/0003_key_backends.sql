-- Where a key lives: 'software' (sealed under the KEK in `sealed`) or 'pkcs11' (on the token,
-- found by CKA_ID = the key id; `sealed` is empty).
ALTER TABLE keys ADD COLUMN backend TEXT NOT NULL DEFAULT 'software';
