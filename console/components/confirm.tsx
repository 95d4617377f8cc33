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
