-- The default issuance profile of a CA: what signs with it when a request names none.
ALTER TABLE cas ADD COLUMN profile_id TEXT;
