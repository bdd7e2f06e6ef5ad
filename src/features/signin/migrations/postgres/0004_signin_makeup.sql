-- Make-up sign-ins (补签) are kept apart from real ones: they earn no points of their own.
ALTER TABLE signins ADD COLUMN makeup BIGINT NOT NULL DEFAULT 0;
