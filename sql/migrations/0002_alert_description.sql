-- A target alert's check description on its own, for the webhook's `description`.
ALTER TABLE alerts ADD COLUMN description TEXT NOT NULL DEFAULT '';
