-- Requests counted per key (a token's hash or a client address) and fixed one-minute window,
-- shared by every node, for the issuing routes' rate limit.
CREATE TABLE rate_windows (
    bucket  TEXT   NOT NULL,
    minute  BIGINT NOT NULL,
    hits    BIGINT NOT NULL,
    PRIMARY KEY (bucket, minute)
);
