// A yes/no question over the screen; the app's key dispatcher gives it the keys first.
import React from "react";
import { Box, Text } from "ink";

export function Confirm({ message, color }: { message: string; color: boolean }) {
  return (
    <Box borderStyle="round" {...(color ? { borderColor: "yellow" } : {})} paddingX={1}>
      <Text>
        {message} <Text bold>[y/N]</Text>
      </Text>
    </Box>
  );
}
